// Runs nginx with the repository's load-balancer configuration (deploy/nginx/interview-ide.conf),
// its upstream pointed at the given nodes and its listener at a free port.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NGINX_CONF = join(root, 'deploy', 'nginx', 'interview-ide.conf');

export function nginxAvailable() {
  return spawnSync('nginx', ['-v']).status === 0;
}

/**
 * The shipped configuration with its `server` lines replaced by `nodes` (host:port) and its port;
 * `affinity: false` drops the hash on the session (a load balancer that spreads every connection).
 */
export function configFor(nodes, port, { affinity = true } = {}) {
  // The untrusted origin's part is not exercised here (its own listener would need a port too).
  let conf = readFileSync(NGINX_CONF, 'utf8').split('# --- The untrusted origin ---')[0];
  if (!affinity) conf = conf.replace(/^\s*hash \$interview_ide_session consistent;\n/m, '');
  const upstream = conf.match(/upstream interview_ide \{[\s\S]*?\n\}/)[0];
  const kept = upstream.split('\n').filter((l) => !/^\s*server\s/.test(l));
  const servers = nodes.map((n) => `    server ${n} max_fails=1 fail_timeout=5s;`);
  const rewritten = [kept[0], ...servers, ...kept.slice(1)].join('\n');
  return conf.replace(upstream, rewritten).replace(/listen 80;/, `listen 127.0.0.1:${port};`);
}

export async function startNginx(nodes, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'iide-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'site.conf'), configFor(nodes, port, options));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n');
  writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
${temp}
  include ${dir}/site.conf;
}
`);
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`);
    try { return (await fetch(`${url}/healthz`)).ok; } catch { return false; }
  }, { timeout: 10_000, what: 'nginx' });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
