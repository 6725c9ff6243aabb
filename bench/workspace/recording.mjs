#!/usr/bin/env node
// What recording the app's traffic (the interviewer's live view) adds to the proxy: two servers,
// one with recording on and one with it off (--app-traffic-recording false), a workspace each, and
// keep-alive GET /health requests interleaved through both proxies and straight to each app's
// socket, so all four see the same machine noise. See bench/README.md.
//
//   node bench/workspace/recording.mjs [--requests 3000]
import http from 'node:http';
import { join } from 'node:path';
import { createSession, startServer } from '../../tests/lib/server.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const REQUESTS = Number(arg('requests', 3000));

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

function get(opts) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ method: 'GET', ...opts }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function setUp(recording) {
  const server = await startServer(['--app-traffic-recording', recording ? 'true' : 'false']);
  const s = await createSession(server.url, { kind: 'workspace', exercise: 'trading-backend' });
  const url = new URL(server.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const viaProxy = () => get({ host: url.hostname, port: url.port, path: `/api/sessions/${s.id}/app/health`, agent, headers: { authorization: `Bearer ${s.candidate_token}` } });
  const direct = () => get({ socketPath: join(server.workspacesDir, s.id, 'run', 'app.sock'), path: '/health', headers: { host: '127.0.0.1' } });
  for (;;) {
    try {
      await viaProxy();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { server, viaProxy, direct, samples: { proxied: [], direct: [] } };
}

const on = await setUp(true);
const off = await setUp(false);
try {
  for (let i = 0; i < 100; i++) for (const x of [on, off]) { await x.viaProxy(); await x.direct(); }
  for (let i = 0; i < REQUESTS; i++) {
    for (const x of i % 2 ? [on, off] : [off, on]) {
      x.samples.direct.push(await x.direct());
      x.samples.proxied.push(await x.viaProxy());
    }
  }
  const line = (name, x) => {
    const added50 = pct(x.samples.proxied, 50) - pct(x.samples.direct, 50);
    const added99 = pct(x.samples.proxied, 99) - pct(x.samples.direct, 99);
    console.log(
      `${name}: through the proxy p50 ${pct(x.samples.proxied, 50).toFixed(2)} ms, p99 ${pct(x.samples.proxied, 99).toFixed(2)} ms; ` +
        `straight to the app p50 ${pct(x.samples.direct, 50).toFixed(2)} ms, p99 ${pct(x.samples.direct, 99).toFixed(2)} ms; ` +
        `added by the proxy p50 +${added50.toFixed(2)} ms, p99 +${added99.toFixed(2)} ms (n=${REQUESTS})`,
    );
  };
  line('recording on ', on);
  line('recording off', off);
} finally {
  await on.server.stop();
  await off.server.stop();
}
