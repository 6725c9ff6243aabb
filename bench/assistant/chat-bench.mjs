#!/usr/bin/env node
// What interview-ide adds to an assistant reply: time to first token and per-token latency when
// the reply goes through the server (POST /api/sessions/{id}/chat, SSE) versus straight from the
// provider. The provider is a local fake of the Anthropic streaming API (tests/lib), so only the
// server's share is measured. See bench/README.md.
//
//   node bench/assistant/chat-bench.mjs [--requests 200] [--tokens 50] [--interval-ms 2] [--json]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeAnthropic } from '../../tests/lib/fake-anthropic.mjs';
import { ADMIN_EMAIL, ADMIN_PASSWORD, freePort, signIn } from '../../tests/lib/server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? 'true' : all[i + 1]]] : acc), []),
);
const REQUESTS = Number(args.requests ?? 200);
const TOKENS = Number(args.tokens ?? 50);
const INTERVAL = Number(args['interval-ms'] ?? 2);
const WARMUP = Number(args.warmup ?? 20);
const binary = args.bin ?? process.env.INTERVIEW_IDE_BIN ?? join(root, 'target', 'release', 'interview-ide');

// Token i of request r was written by the fake at sent[r][i] (ns, this process's clock).
const sent = new Map();
const fake = await startFakeAnthropic({
  intervalMs: INTERVAL,
  reply: () => Array.from({ length: TOKENS }, (_, i) => `t${i} `),
  onSent: (r, i, t) => {
    if (!sent.has(r)) sent.set(r, []);
    sent.get(r)[i] = t;
  },
});

const dir = mkdtempSync(join(tmpdir(), 'iide-chatbench-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(
  binary,
  [
    '--bind', `127.0.0.1:${port}`,
    '--database-url', `sqlite://${dir}/db.sqlite`,
    '--anthropic-api-key', 'sk-bench',
    '--anthropic-base-url', fake.url,
    '--assistant-messages-per-minute', '1000000',
    '--assistant-token-budget', '1000000000000',
    '--admin-email', ADMIN_EMAIL,
    '--admin-password', ADMIN_PASSWORD,
  ],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } },
);
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/readyz`)).ok) break;
  } catch {}
  if (i > 200) throw new Error('server did not start');
  await new Promise((r) => setTimeout(r, 50));
}
// Sessions are created by a signed-in person of the organisation: the admin made at start.
const cookie = await signIn(base, ADMIN_EMAIL, ADMIN_PASSWORD);
const session = await (await fetch(`${base}/api/sessions`, { method: 'POST', headers: { cookie: `iide_account=${cookie}` } })).json();

/** Reads an SSE body; calls onData(event, data, arrivalNs) per event as soon as it is parsed. */
async function readSse(res, onData) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const now = process.hrtime.bigint();
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onData(event, data, now);
    }
  }
}

/** One request; returns { ttftMs, tokenLatencyMs: [...] } where latency = arrival - fake's write. */
async function once(viaServer) {
  const requestNo = fake.requests.length;
  const t0 = process.hrtime.bigint();
  const res = viaServer
    ? await fetch(`${base}/api/sessions/${session.id}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${session.candidate_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'benchmark question' }),
      })
    : await fetch(`${fake.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'sk-bench', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'benchmark question' }] }),
      });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const arrivals = [];
  await readSse(res, (event, data, now) => {
    let text;
    if (viaServer && event === 'delta') text = JSON.parse(data).text;
    if (!viaServer && event === 'content_block_delta') text = JSON.parse(data).delta.text;
    if (text === undefined) return;
    const m = /^t(\d+) $/.exec(text);
    if (m) arrivals[Number(m[1])] = now;
  });
  const writes = sent.get(requestNo) ?? [];
  if (arrivals.length !== TOKENS) throw new Error(`got ${arrivals.length} of ${TOKENS} tokens`);
  return {
    ttftMs: Number(arrivals[0] - t0) / 1e6,
    tokenLatencyMs: arrivals.map((a, i) => Number(a - writes[i]) / 1e6),
  };
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s.at(-1) };
}

async function run(viaServer) {
  for (let i = 0; i < WARMUP; i++) await once(viaServer);
  const ttft = [];
  const lat = [];
  for (let i = 0; i < REQUESTS; i++) {
    const r = await once(viaServer);
    ttft.push(r.ttftMs);
    lat.push(...r.tokenLatencyMs);
  }
  return { ttft: summary(ttft), token: summary(lat) };
}

// Interleave rounds so drift on a shared machine hits both sides alike.
const direct = await run(false);
const via = await run(true);
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(dir, { recursive: true, force: true });
await fake.stop();

const result = {
  requests: REQUESTS,
  tokens_per_reply: TOKENS,
  token_interval_ms: INTERVAL,
  direct,
  via_server: via,
  overhead_ms: {
    ttft_p50: via.ttft.p50 - direct.ttft.p50,
    ttft_p99: via.ttft.p99 - direct.ttft.p99,
    token_p50: via.token.p50 - direct.token.p50,
    token_p99: via.token.p99 - direct.token.p99,
  },
};
if (args.json === 'true') {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f = (x) => x.toFixed(2).padStart(8);
  const row = (name, s) => `${name.padEnd(34)}${f(s.p50)}${f(s.p90)}${f(s.p99)}${f(s.max)}`;
  console.log(`${REQUESTS} replies x ${TOKENS} tokens, one token every ${INTERVAL} ms, sequential, after ${WARMUP} warm-up replies`);
  console.log(`${''.padEnd(34)}${'p50'.padStart(8)}${'p90'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}  (ms)`);
  console.log(row('first token, provider direct', direct.ttft));
  console.log(row('first token, through interview-ide', via.ttft));
  console.log(row('per token, provider direct', direct.token));
  console.log(row('per token, through interview-ide', via.token));
  const o = result.overhead_ms;
  console.log(`overhead: first token p50 ${o.ttft_p50.toFixed(2)} ms, p99 ${o.ttft_p99.toFixed(2)} ms; per token p50 ${o.token_p50.toFixed(2)} ms, p99 ${o.token_p99.toFixed(2)} ms`);
}
