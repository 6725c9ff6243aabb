// Starts the real interview-ide binary on a free port with a fresh SQLite database.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binary = process.env.INTERVIEW_IDE_BIN || join(root, 'target', 'release', 'interview-ide');
/** The exercises workspace sessions are created from. */
export const EXERCISES_DIR = join(root, 'exercises');

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Starts a server; `stop()` kills it and removes its data. */
export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'iide-test-'));
  // Workspace processes run sandboxed under a uid of their own, which must be able to reach their
  // folder: the temporary folder (0700 as created) is opened up to traversal.
  const workspacesDir = join(dir, 'workspaces');
  mkdirSync(workspacesDir);
  chmodSync(dir, 0o755);
  chmodSync(workspacesDir, 0o755);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    '--bind', `127.0.0.1:${port}`,
    '--database-url', `sqlite://${dir}/db.sqlite`,
    '--exercises-dir', EXERCISES_DIR,
    '--workspaces-dir', workspacesDir,
    '--runs-dir', join(dir, 'runs'),
    '--questions-dir', join(root, 'questions'),
    ...extraArgs,
  ];
  const child = spawn(binary, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`server did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    wsUrl: url.replace('http', 'ws'),
    workspacesDir,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function createSession(url, body = { title: 'Test', language: 'python' }) {
  const res = await fetch(`${url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`create session: ${res.status}`);
  return res.json();
}

/** Polls `check` until it returns truthy or the timeout passes. */
export async function waitFor(check, { timeout = 5000, interval = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
