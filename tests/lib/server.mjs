// Starts the real interview-ide binary on a free port with a fresh SQLite database.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binary = process.env.INTERVIEW_IDE_BIN || join(root, 'target', 'release', 'interview-ide');
/** The exercises workspace sessions are created from. */
export const EXERCISES_DIR = join(root, 'exercises');

/** @returns {Promise<number>} a TCP port on 127.0.0.1 that was free a moment ago */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The admin account every test server starts with (--admin-email/--admin-password). */
export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

/** Per server URL: the admin's sign-in cookie value and API key, made when the server started. */
const accounts = new Map();

/** The admin's sign-in cookie value of the server at `url` (for a browser context: `signInBrowser`). */
export const adminCookie = (url) => accountOf(url).cookie;
/** The admin's API key of the server at `url` (`Authorization: Bearer iide_...`). */
export const apiKey = (url) => accountOf(url).key;

function accountOf(url) {
  const a = accounts.get(url);
  if (!a) throw new Error(`no server started by startServer at ${url}`);
  return a;
}

/** Signs in with a password; returns the value of the `iide_account` cookie. */
export async function signIn(url, email, password) {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`sign in as ${email}: ${res.status}`);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('iide_account='));
  return cookie.split(';')[0].slice('iide_account='.length);
}

/**
 * Starts a server; `stop()` kills it and removes its data. It starts with the admin account
 * ADMIN_EMAIL/ADMIN_PASSWORD (whose API key `createSession` uses) unless `withAdmin` is false
 * (then it has no account and logs its first-run setup link: `log()`). `port`: listen there;
 * `databaseUrl`: a database of its own choosing instead of a fresh SQLite file.
 * @param {string[]} [extraArgs]
 * @param {{ withAdmin?: boolean, port?: number, databaseUrl?: string, logLevel?: string }} [options]
 */
export async function startServer(extraArgs = [], { withAdmin = true, port: chosenPort, databaseUrl, logLevel = 'warn' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'iide-test-'));
  // Workspace processes run sandboxed under a uid of their own, which must be able to reach their
  // folder: the temporary folder (0700 as created) is opened up to traversal.
  const workspacesDir = join(dir, 'workspaces');
  mkdirSync(workspacesDir);
  chmodSync(dir, 0o755);
  chmodSync(workspacesDir, 0o755);
  // A port chosen beforehand when something must know the URL first (an OpenID provider's redirect URI).
  const port = chosenPort ?? await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The untrusted origin (candidate-made content) on a free port of its own.
  const untrustedPort = await freePort();
  const args = [
    '--bind', `127.0.0.1:${port}`,
    '--untrusted-bind', `127.0.0.1:${untrustedPort}`,
    '--database-url', databaseUrl ?? `sqlite://${dir}/db.sqlite`,
    '--exercises-dir', EXERCISES_DIR,
    '--workspaces-dir', workspacesDir,
    ...(withAdmin ? ['--admin-email', ADMIN_EMAIL, '--admin-password', ADMIN_PASSWORD] : []),
    '--runs-dir', join(dir, 'runs'),
    '--questions-dir', join(root, 'questions'),
    ...extraArgs,
  ];
  const child = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: logLevel },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  // The log (warnings and errors only, unless `logLevel` says otherwise) goes to stdout.
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; });
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
  if (withAdmin) {
    const cookie = await signIn(url, ADMIN_EMAIL, ADMIN_PASSWORD);
    const res = await fetch(`${url}/api/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `iide_account=${cookie}` },
      body: JSON.stringify({ name: 'tests', scopes: ['sessions:read', 'sessions:write', 'admin'] }),
    });
    if (res.status !== 201) throw new Error(`create an API key: ${res.status}`);
    accounts.set(url, { cookie, key: (await res.json()).secret });
  }
  return {
    url,
    untrustedUrl: `http://127.0.0.1:${untrustedPort}`,
    wsUrl: url.replace('http', 'ws'),
    workspacesDir,
    get apiKey() { return apiKey(url); },
    /** What the server logged so far. */
    log: () => stdout + stderr,
    get adminCookie() { return adminCookie(url); },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      unmountWorkspaces(workspacesDir);
      rmSync(dir, { recursive: true, force: true });
      accounts.delete(url);
    },
  };
}

/** Workspaces with a disk quota are loop-mounted filesystems: unmounted before their folder goes. */
function unmountWorkspaces(workspacesDir) {
  for (const id of existsSync(workspacesDir) ? readdirSync(workspacesDir) : []) {
    const ws = join(workspacesDir, id, 'workspace');
    if (existsSync(ws)) spawnSync('umount', ['-l', '-q', ws], { stdio: 'ignore' });
  }
}

/**
 * Creates a session as the server's admin (with its API key). The server fills in what the body
 * leaves out (title, language, kind).
 * @param {string} url
 * @param {{ title?: string, language?: string, kind?: 'pad' | 'workspace', exercise?: string, question?: string }} [body]
 */
export async function createSession(url, body = { title: 'Test', language: 'python' }) {
  const res = await fetch(`${url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey(url)}` },
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
