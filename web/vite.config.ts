import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const monacoEsm = fileURLToPath(new URL('./node_modules/monaco-editor/esm/vs/', import.meta.url));

// The server runs on 127.0.0.1:18080 during development (see README); `npm run dev` proxies to it.
const devServer = process.env.IIDE_DEV_SERVER ?? 'http://127.0.0.1:18080';

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: [
      // monaco-editor >= 0.56 hides esm/vs/... behind its `exports` map, but y-monaco imports
      // `monaco-editor/esm/vs/editor/editor.api.js` directly.
      { find: /^monaco-editor\/esm\/vs\/(.*)$/, replacement: `${monacoEsm}$1` },
    ],
  },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Monaco's core is one large chunk by nature; it is cached and loaded only on session pages.
    chunkSizeWarningLimit: 4096,
  },
  server: {
    proxy: {
      '/api': { target: devServer, ws: true, changeOrigin: false },
      '/healthz': devServer,
    },
  },
});
