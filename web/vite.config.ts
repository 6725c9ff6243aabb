/// <reference types="vitest/config" />
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const monacoEsm = fileURLToPath(new URL('./node_modules/monaco-editor/esm/vs/', import.meta.url));
const pyodideDir = fileURLToPath(new URL('./node_modules/pyodide/', import.meta.url));
const pyodideVersion = (JSON.parse(readFileSync(join(pyodideDir, 'package.json'), 'utf8')) as { version: string }).version;
/** Where the runtime is served; versioned, so a cached copy never mixes two releases. */
const pyodidePath = `/pyodide/v${pyodideVersion}/`;

// The server runs on 127.0.0.1:18080 during development (see README); `npm run dev` proxies to it.
const devServer = process.env.IIDE_DEV_SERVER ?? 'http://127.0.0.1:18080';

/** The files of the npm `pyodide` package that loading the interpreter and its stdlib needs. */
const PYODIDE_FILES = ['pyodide.mjs', 'pyodide.asm.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json'];

const PYODIDE_TYPES: Record<string, string> = {
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.zip': 'application/zip',
  '.json': 'application/json',
};

/**
 * Self-hosts the Python runtime: copies Pyodide into `dist/pyodide/v<version>/` on build, and serves
 * it from node_modules at the same path in development. Nothing is loaded from a CDN.
 */
function pyodideAssets(): Plugin {
  let outDir = 'dist';
  return {
    name: 'iide-pyodide-assets',
    configResolved(config) {
      outDir = join(config.root, config.build.outDir);
    },
    writeBundle() {
      const target = join(outDir, pyodidePath);
      mkdirSync(target, { recursive: true });
      for (const file of PYODIDE_FILES) {
        const from = join(pyodideDir, file);
        if (!existsSync(from)) throw new Error(`pyodide: ${file} is missing from node_modules/pyodide (run npm ci)`);
        copyFileSync(from, join(target, file));
      }
    },
    configureServer(server) {
      server.middlewares.use(pyodidePath, (req, res, next) => {
        const name = (req.url ?? '').split('?')[0].replace(/^\//, '');
        if (!PYODIDE_FILES.includes(name)) return next();
        const file = join(pyodideDir, name);
        const ext = name.slice(name.lastIndexOf('.'));
        res.setHeader('Content-Type', PYODIDE_TYPES[ext] ?? 'application/octet-stream');
        res.setHeader('Content-Length', String(statSync(file).size));
        createReadStream(file).pipe(res);
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), pyodideAssets()],
  define: {
    __PYODIDE_PATH__: JSON.stringify(pyodidePath),
  },
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
  // Unit tests (npm test): the app's logic modules, with this file's aliases and defines.
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    environment: 'node',
  },
  server: {
    // Cross-origin isolation, as the server sends it: SharedArrayBuffer (Python interrupts, stdin).
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
    proxy: {
      '/api': { target: devServer, ws: true, changeOrigin: false },
      '/healthz': devServer,
    },
  },
});
