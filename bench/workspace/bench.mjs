#!/usr/bin/env node
// Workspace sessions and the Chaos Engine, measured on the real server, sandbox and app:
//  - time to a ready workspace: session created -> terminal prompt shown AND app answering;
//  - time to the VS Code workbench loaded in a browser (code-server, cold start per session);
//  - memory per idle workspace (app + shell) and with code-server open (RSS of the sandboxes);
//  - proxy overhead: GET /health through the platform's proxy vs straight to the app's socket;
//  - chaos activation: interviewer's request -> the effect visible on the next request.
// See bench/README.md.
//
//   node bench/workspace/bench.mjs [--sessions 10] [--requests 2000] [--vscode 3] [--json]
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import WebSocket from '../../tests/node_modules/ws/index.js';
import { createSession, startServer } from '../../tests/lib/server.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? 'true' : all[i + 1]]] : acc), []),
);
const SESSIONS = Number(args.sessions ?? 10);
const REQUESTS = Number(args.requests ?? 2000);
const VSCODE = Number(args.vscode ?? 3);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const summary = (xs, unit = 'ms', digits = 1) =>
  `median ${pct(xs, 50).toFixed(digits)} ${unit}, p90 ${pct(xs, 90).toFixed(digits)}, p99 ${pct(xs, 99).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)} (n=${xs.length})`;

const server = await startServer();
const base = server.url;
const results = {};

async function createWorkspace() {
  return createSession(base, { kind: 'workspace', exercise: 'trading-backend' });
}

function terminalPrompt(s) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/sessions/${s.id}/terminal?token=${s.candidate_token}`);
    let out = '';
    const timer = setTimeout(() => reject(new Error('no prompt')), 30_000);
    ws.on('message', (d) => {
      out += d.toString();
      if (out.includes('$ ')) {
        clearTimeout(timer);
        resolve(ws);
      }
    });
    ws.on('error', reject);
  });
}

async function appAnswers(s) {
  for (;;) {
    const res = await fetch(`${base}/api/sessions/${s.id}/app/health`, { headers: { authorization: `Bearer ${s.candidate_token}` } });
    await res.text();
    if (res.status === 200) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// 4. Proxy overhead: keep-alive requests through the platform vs straight to the app's socket.
// Measured first, with only this workspace running (idle ones still poll their files).
const s = await createWorkspace();
await appAnswers(s);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const socketDir = join(server.workspacesDir, s.id, 'run');
function get(opts) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ method: 'GET', ...opts }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    });
    req.on('error', reject);
    req.end();
  });
}
const url = new URL(base);
const viaProxy = () => get({ host: url.hostname, port: url.port, path: `/api/sessions/${s.id}/app/health`, agent, headers: { authorization: `Bearer ${s.candidate_token}` } });
const direct = () => get({ socketPath: join(socketDir, 'app.sock'), path: '/health', headers: { host: '127.0.0.1' } });
for (let i = 0; i < 100; i++) { await viaProxy(); await direct(); }
const proxied = [];
const straight = [];
for (let i = 0; i < REQUESTS; i++) {
  // Interleaved, so both see the same machine noise.
  straight.push(await direct());
  proxied.push(await viaProxy());
}
results.direct_ms = straight;
results.proxied_ms = proxied;
console.log(`app directly (Unix socket):        ${summary(straight, 'ms', 2)}`);
console.log(`app through the platform's proxy:  ${summary(proxied, 'ms', 2)}`);
console.log(`proxy overhead: p50 +${(pct(proxied, 50) - pct(straight, 50)).toFixed(2)} ms, p99 +${(pct(proxied, 99) - pct(straight, 99)).toFixed(2)} ms`);

// 5. Chaos: from the interviewer's request to the effect on the candidate's next request.
const auth = (t) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
const effect = { network: [], data: [] };
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  const r = await fetch(`${base}/api/sessions/${s.id}/chaos/faults`, { method: 'POST', headers: auth(s.interviewer_token), body: JSON.stringify({ kind: 'error', status: 503, path: '/stocks' }) });
  await r.text();
  const seen = await fetch(`${base}/api/sessions/${s.id}/app/stocks`, { headers: auth(s.candidate_token) });
  await seen.text();
  if (seen.status !== 503) throw new Error('fault not live');
  effect.network.push(performance.now() - t0);
  await fetch(`${base}/api/sessions/${s.id}/chaos/reset`, { method: 'POST', headers: auth(s.interviewer_token) }).then((x) => x.text());

  const t1 = performance.now();
  await fetch(`${base}/api/sessions/${s.id}/chaos`, { method: 'POST', headers: auth(s.interviewer_token), body: JSON.stringify({ scenario: 'chaos_data' }) }).then((x) => x.text());
  const price = await fetch(`${base}/api/sessions/${s.id}/app/stocks/GOOGL`, { headers: auth(s.candidate_token) }).then((x) => x.json());
  if (price.price !== -50) throw new Error('data not changed');
  effect.data.push(performance.now() - t1);
  await fetch(`${base}/api/sessions/${s.id}/chaos/reset`, { method: 'POST', headers: auth(s.interviewer_token) }).then((x) => x.text());
}
results.chaos_network_ms = effect.network;
results.chaos_data_ms = effect.data;
console.log(`chaos, network fault: request -> effect seen by the next request: ${summary(effect.network)}`);
console.log(`chaos, chaos_data (SQL): request -> effect seen by the next request: ${summary(effect.data)}`);

await fetch(`${base}/api/sessions/${s.id}/end`, { method: 'POST', headers: { authorization: `Bearer ${s.interviewer_token}` } }).then((x) => x.text());

// 1. Ready time, as the page does it: create, then open the terminal and call the app at once.
const ready = [];
const sockets = [];
const sessions = [];
for (let i = 0; i < SESSIONS; i++) {
  const t0 = performance.now();
  const s = await createWorkspace();
  const created = performance.now();
  fetch(`${base}/api/sessions/${s.id}/workspace/start`, { method: 'POST', headers: { authorization: `Bearer ${s.candidate_token}` } });
  const [ws] = await Promise.all([terminalPrompt(s), appAnswers(s)]);
  ready.push({ total: performance.now() - t0, create: created - t0 });
  sockets.push(ws);
  sessions.push(s);
}
results.ready_ms = ready.map((r) => r.total);
console.log(`ready workspace (create -> prompt + app answering): ${summary(results.ready_ms)}`);
console.log(`  of which creating it (copy + setup in the sandbox): ${summary(ready.map((r) => r.create))}`);

// 2. Memory: RSS of each sandbox's processes, from the session's cgroups.
function rssOf(sessionId, groups) {
  let kb = 0;
  for (const g of groups) {
    let pids = [];
    try {
      pids = readFileSync(`/sys/fs/cgroup/memory/interview-ide/${sessionId}/${g}/cgroup.procs`, 'utf8').split('\n').filter(Boolean);
    } catch { continue; }
    for (const pid of pids) {
      try {
        const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) kb += Number(m[1]);
      } catch { /* exited */ }
    }
  }
  return kb / 1024;
}
await new Promise((r) => setTimeout(r, 2000));
const idle = sessions.map((s) => rssOf(s.id, ['app', 'shell']));
results.idle_workspace_mb = idle;
console.log(`memory per idle workspace (app + terminal shell, RSS): ${summary(idle, 'MB')}`);

// 3. code-server: cold start to the workbench in a real browser, and its memory.
if (VSCODE > 0) {
  const { chromium } = await import('../../tests/node_modules/playwright-core/index.mjs');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const times = [];
  const withVscode = [];
  for (let i = 0; i < Math.min(VSCODE, sessions.length); i++) {
    const s = sessions[i];
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // The session cookie, as joining sets it.
    await fetch(`${base}/api/sessions/${s.id}/join`, { method: 'POST', headers: { authorization: `Bearer ${s.candidate_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) }).then((r) => r.text());
    await ctx.addCookies([{ name: `iide_${s.id}`, value: s.candidate_token, url: base }]);
    const page = await ctx.newPage();
    const t0 = performance.now();
    await page.goto(`${base}/api/sessions/${s.id}/vscode/?folder=/workspace`);
    await page.waitForSelector('.monaco-workbench .explorer-folders-view, .monaco-workbench .explorer-viewlet', { timeout: 120_000 });
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 3000));
    withVscode.push(rssOf(s.id, ['app', 'shell', 'vscode']));
    await ctx.close();
  }
  await browser.close();
  results.vscode_workbench_ms = times;
  results.with_vscode_mb = withVscode;
  console.log(`VS Code workbench loaded (cold code-server, page load -> explorer shown): ${summary(times)}`);
  console.log(`memory per workspace with VS Code open (app + shell + code-server): ${summary(withVscode, 'MB')}`);
}
const memTotal = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) / 1024;
const perIdle = pct(idle, 50);
console.log(`capacity by memory (${(memTotal / 1024).toFixed(1)} GiB): ~${Math.floor((memTotal * 0.8) / perIdle)} idle workspaces` +
  (results.with_vscode_mb ? `, ~${Math.floor((memTotal * 0.8) / pct(results.with_vscode_mb, 50))} with VS Code open` : '') + ' (80 % of RAM)');

for (const ws of sockets) ws.close();
await server.stop();
if (args.json) console.log(JSON.stringify(results));
process.exit(0);
