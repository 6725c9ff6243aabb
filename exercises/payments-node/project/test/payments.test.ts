import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { createApp } from '../src/app.ts';
import { seed } from '../src/seed.ts';

let base = '';
const servers: http.Server[] = [];

before(async () => {
  // A provider that always succeeds, and the app on a fresh in-memory database.
  const provider = http.createServer((_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'ch_test', status: 'succeeded' }));
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  servers.push(provider);
  const db = new Database(':memory:');
  seed(db);
  const app = http.createServer(createApp(db, `http://127.0.0.1:${(provider.address() as AddressInfo).port}`));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  servers.push(app);
  base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});

after(() => {
  for (const s of servers) s.close();
});

const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('health', async () => {
  assert.deepEqual(await (await fetch(`${base}/health`)).json(), { status: 'ok' });
});

test('a payment is charged through the provider', async () => {
  const res = await post('/payments', { customer_id: 1, amount_cents: 2500 });
  assert.equal(res.status, 201);
  const payment = await res.json();
  assert.equal(payment.status, 'succeeded');
  assert.equal(payment.provider_charge_id, 'ch_test');
  const list = await (await fetch(`${base}/customers/1/payments`)).json();
  assert.ok(list.some((p: { id: number }) => p.id === payment.id));
});

test('bad payments are refused', async () => {
  assert.equal((await post('/payments', { customer_id: 1, amount_cents: -5 })).status, 400);
  assert.equal((await post('/payments', { customer_id: 999, amount_cents: 100 })).status, 404);
});

test('a refund webhook marks the payment refunded', async () => {
  const res = await post('/webhooks/provider', { id: 'evt_1', type: 'charge.refunded', payment_id: 2, sequence: 2, amount_cents: 12000 });
  assert.equal(res.status, 200);
  const payment = await (await fetch(`${base}/payments/2`)).json();
  assert.equal(payment.status, 'refunded');
  assert.equal(payment.refunded_cents, 12000);
});
