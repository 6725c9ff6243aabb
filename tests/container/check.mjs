// What the container test checks against a running `docker compose` deployment, in two phases:
//
//   node check.mjs before <url> <state.json>   sign in, pad session + live document, a C run on
//                                              the server, a workspace session (its app through
//                                              the platform, the terminal, VS Code), a chaos
//                                              scenario activated and reset; writes what it made
//   node check.mjs after <url> <state.json>    after `docker compose down` and `up`: the sessions
//                                              and the document's text are still there
//   node check.mjs tls <https-url> <state.json> through the tls profile's Caddy: HTTPS, the live
//                                              document over wss, the workspace's terminal
//   node check.mjs slim <url> <state.json>     the slim image: a pad session edited by both
//                                              people, the languages it runs, and a clear answer
//                                              for what it leaves out (server-side runs)
//
// Sessions need a signed-in caller: the deployment starts with ADMIN_EMAIL/ADMIN_PASSWORD, and
// this signs in with them and makes an API key, as tests/lib/server.mjs does.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';

const [phase, url, stateFile] = process.argv.slice(2);
if (!['before', 'after', 'tls', 'slim'].includes(phase) || !url || !stateFile) {
  console.error('usage: node check.mjs before|after|tls|slim <url> <state.json>');
  process.exit(2);
}
const wsUrl = url.replace(/^http/, 'ws');
const email = process.env.ADMIN_EMAIL;
const password = process.env.ADMIN_PASSWORD;
assert.ok(email && password, 'ADMIN_EMAIL and ADMIN_PASSWORD must be set');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(check, { timeout = 10_000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(interval);
  }
}
const step = async (what, fn) => {
  const t0 = Date.now();
  const v = await fn();
  console.log(`  ok  ${what} (${Date.now() - t0} ms)`);
  return v;
};

/**
 * One API call; throws unless the status is one of `expect`.
 * @param {string} method
 * @param {string} path
 * @param {{ token?: string, cookie?: string, body?: unknown, expect?: number[] }} [options]
 */
async function api(method, path, { token, cookie, body, expect = [200, 201] } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers['content-type'] = 'application/json';
  // As the web app: the server refuses cookie-borne changes without JSON or this header.
  headers['x-requested-with'] = 'interview-ide';
  const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { res, text, json };
}

async function apiKey() {
  const login = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(login.status, 200, `sign in as ${email}`);
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith('iide_account=')).split(';')[0];
  const { json } = await api('POST', '/api/keys', { cookie, body: { name: `container-test-${Date.now()}`, scopes: ['sessions:read', 'sessions:write', 'admin'] }, expect: [201] });
  return json.secret;
}

/** The stock y-websocket client on a session's document; resolves once synced. */
async function openDoc(sessionId, token, doc = 'main') {
  const ydoc = new Y.Doc();
  const provider = new WebsocketProvider(`${wsUrl}/api/sessions/${sessionId}/docs`, doc, ydoc, {
    params: { token },
    // ws implements what the provider uses of the DOM WebSocket, though its declared types differ.
    WebSocketPolyfill: /** @type {typeof globalThis.WebSocket} */ (/** @type {unknown} */ (WebSocket)),
    disableBc: true,
  });
  await waitFor(() => provider.synced, { what: `sync of ${doc}` });
  return {
    text: ydoc.getText('code'),
    close() {
      provider.destroy();
      provider.awareness.destroy();
      ydoc.destroy();
    },
  };
}

/** Runs code on the server; returns the whole text/event-stream once the run ended. */
async function execute(sessionId, token, language, code) {
  const res = await fetch(`${url}/api/sessions/${sessionId}/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ language, code }),
  });
  assert.equal(res.status, 200, `execute ${language}: ${res.status}`);
  return { body: await res.text() };
}

/** Types a command into the workspace's shared terminal and waits for `expect` in its output. */
async function terminal(sessionId, token, command, expect) {
  const ws = new WebSocket(`${wsUrl}/api/sessions/${sessionId}/terminal?token=${token}`);
  let out = '';
  ws.on('message', (data, isBinary) => { if (isBinary) out += data.toString(); });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  try {
    await waitFor(() => out.length > 0, { timeout: 20_000, what: 'the shell prompt' });
    ws.send(JSON.stringify({ type: 'input', data: `${command}\r` }));
    await waitFor(() => expect.test(out), { timeout: 20_000, what: `${expect} in the terminal (seen: ${JSON.stringify(out.slice(-300))})` });
    return out;
  } finally {
    ws.close();
  }
}

async function slim() {
  const key = await step('sign in and make an API key', apiKey);
  const pad = await step('create a pad session', async () =>
    (await api('POST', '/api/sessions', { token: key, body: { language: 'python' }, expect: [201] })).json);
  await step('both people edit the live document', async () => {
    const interviewer = await openDoc(pad.id, pad.interviewer_token);
    const candidate = await openDoc(pad.id, pad.candidate_token);
    try {
      candidate.text.insert(0, 'print("from the slim image")');
      await waitFor(() => interviewer.text.toString().includes('slim image'), { what: "the candidate's edit at the interviewer" });
    } finally {
      interviewer.close();
      candidate.close();
    }
  });
  await step('the browser languages are offered', async () => {
    const { json } = await api('GET', '/api/languages');
    const inBrowser = json.filter((l) => l.runs_on === 'browser').map((l) => l.id).sort();
    assert.deepEqual(inBrowser, ['javascript', 'python', 'typescript']);
  });
  await step('a server-side run is refused with a reason', async () => {
    const res = await fetch(`${url}/api/sessions/${pad.id}/execute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pad.candidate_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ language: 'c', code: 'int main(void) { return 0; }' }),
    });
    const text = await res.text();
    assert.equal(res.status, 409, text);
    assert.match(JSON.parse(text).error, /no sandbox/);
  });
}

async function before() {
  const key = await step('sign in and make an API key', apiKey);

  const pad = await step('create a pad session', async () =>
    (await api('POST', '/api/sessions', { token: key, body: { title: 'Container test pad', language: 'python' }, expect: [201] })).json);
  const marker = `# written through y-websocket ${Date.now()}`;
  await step('edit the pad with y-websocket; a second client sees it', async () => {
    const a = await openDoc(pad.id, pad.interviewer_token);
    const b = await openDoc(pad.id, pad.candidate_token);
    a.text.insert(0, `${marker}\n`);
    await waitFor(() => b.text.toString().startsWith(marker), { what: 'the edit at the second client' });
    a.close();
    b.close();
    // Stored within the flush interval (200 ms); give it a margin before the restart.
    await sleep(1000);
  });

  await step('run C on the server (sandboxed)', async () => {
    const run = await execute(pad.id, pad.interviewer_token, 'c', '#include <stdio.h>\nint main(void) { printf("%d\\n", 6 * 7); return 0; }\n');
    assert.match(run.body, /"42\\n"|42/, `the program's output (got ${run.body.slice(0, 500)})`);
    assert.match(run.body, /"status":"ok"/, `the run's exit (got ${run.body.slice(-500)})`);
    // Peak memory comes from the run's memory cgroup: null where the container cannot make cgroups.
    const memory = run.body.match(/"memory_bytes":(\d+|null)/)?.[1];
    console.log(`      the run's memory cgroup: ${memory && memory !== 'null' ? `yes (peak ${memory} bytes)` : 'none (resource limits only)'}`);
  });

  const ws = await step('create a workspace session', async () =>
    (await api('POST', '/api/sessions', { token: key, body: { title: 'Container test workspace', kind: 'workspace', exercise: 'trading-backend' }, expect: [201] })).json);
  const stocks = () => api('GET', `/api/sessions/${ws.id}/app/stocks`, { token: ws.interviewer_token, expect: [200] }).then((r) => r.json);
  const price = async (symbol) => (await stocks()).find((s) => s.symbol === symbol)?.price;
  await step("the workspace's app answers through the platform", async () => {
    await api('POST', `/api/sessions/${ws.id}/workspace/start`, { token: ws.candidate_token });
    const list = await waitFor(() => stocks(), { timeout: 60_000, interval: 500, what: 'GET /stocks through the platform' });
    assert.ok(list.some((s) => s.symbol === 'AAPL'), 'the seeded stocks');
  });
  await step('the shared terminal runs in the sandbox and reaches the app', async () => {
    await terminal(ws.id, ws.candidate_token, 'echo "uid=$(id -u) $((6*7))-done"; curl -s $APP_URL/stocks/AAPL; echo', /uid=(\d+) 42-done[\s\S]*"symbol":\s*"AAPL"/);
  });
  await step('VS Code (code-server) opens from the untrusted origin, never the platform\'s', async () => {
    const links = (await api('GET', `/api/sessions/${ws.id}/content`, { token: ws.candidate_token })).json;
    assert.ok(!links.vscode.startsWith(url), `VS Code on its own origin: ${links.vscode}`);
    await waitFor(async () => {
      const res = await fetch(links.vscode);
      const body = await res.text();
      return res.status === 200 && /vscode|workbench/i.test(body);
    }, { timeout: 60_000, interval: 1000, what: 'the VS Code workbench page' });
    await api('GET', `/api/sessions/${ws.id}/vscode/?folder=/workspace`, { token: ws.candidate_token, expect: [404] });
  });
  await step('chaos: activate chaos_data, the app shows it, reset restores it', async () => {
    const before = await price('GOOGL');
    assert.ok(before > 0, `GOOGL's seeded price (${before})`);
    const status = (await api('POST', `/api/sessions/${ws.id}/chaos/activate`, { token: ws.interviewer_token, body: { scenario: 'chaos_data' } })).json;
    assert.ok(status.scenarios.find((s) => s.id === 'chaos_data')?.active, 'chaos_data is active');
    assert.equal(await price('GOOGL'), -50, "the corrupted price reaches the candidate's next request");
    await api('GET', `/api/sessions/${ws.id}/chaos/status`, { token: ws.candidate_token, expect: [403] });
    const reset = (await api('POST', `/api/sessions/${ws.id}/chaos/reset`, { token: ws.interviewer_token })).json;
    assert.ok(!reset.scenarios.some((s) => s.active), 'nothing active after reset');
    assert.equal(await price('GOOGL'), before, 'the clean price is back');
  });

  writeFileSync(stateFile, JSON.stringify({ pad, marker, ws }, null, 2));
}

async function after() {
  const { pad, marker, ws } = JSON.parse(readFileSync(stateFile, 'utf8'));
  await step('the pad session is still there', async () => {
    const { json } = await api('GET', `/api/sessions/${pad.id}`, { token: pad.interviewer_token });
    assert.equal(json.title, 'Container test pad');
  });
  await step("the pad's document kept the edit", async () => {
    const d = await openDoc(pad.id, pad.candidate_token);
    assert.ok(d.text.toString().startsWith(marker), `document text: ${d.text.toString().slice(0, 120)}`);
    d.close();
  });
  await step('the workspace session is still there and its app answers', async () => {
    const { json } = await api('GET', `/api/sessions/${ws.id}`, { token: ws.interviewer_token });
    assert.equal(json.title, 'Container test workspace');
    await api('POST', `/api/sessions/${ws.id}/workspace/start`, { token: ws.candidate_token });
    const list = await waitFor(() => api('GET', `/api/sessions/${ws.id}/app/stocks`, { token: ws.interviewer_token, expect: [200] }).then((r) => r.json),
      { timeout: 60_000, interval: 500, what: 'GET /stocks after the restart' });
    assert.ok(list.some((s) => s.symbol === 'AAPL'));
  });
}

async function tls() {
  const { pad, marker, ws } = JSON.parse(readFileSync(stateFile, 'utf8'));
  await step('HTTPS through Caddy: /healthz and the session', async () => {
    await waitFor(async () => (await fetch(`${url}/healthz`)).ok, { timeout: 30_000, interval: 500, what: 'https /healthz' });
    const { json } = await api('GET', `/api/sessions/${pad.id}`, { token: pad.interviewer_token });
    assert.equal(json.title, 'Container test pad');
  });
  await step('the live document over wss through Caddy', async () => {
    const d = await openDoc(pad.id, pad.candidate_token);
    assert.ok(d.text.toString().startsWith(marker));
    d.close();
  });
  await step("the workspace's terminal over wss through Caddy", async () => {
    await terminal(ws.id, ws.candidate_token, 'echo "$((7*6))-via-tls"', /42-via-tls/);
  });
}

try {
  await ({ before, after, tls, slim })[phase]();
  process.exit(0);
} catch (e) {
  console.error(`FAILED: ${e.stack || e}`);
  process.exit(1);
}
