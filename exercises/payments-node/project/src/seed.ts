// Creates data/payments.db from scratch with demo data: `npm run seed` (runs again from zero).
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DB_PATH, createSchema, open, type Db } from './db.ts';

const CUSTOMERS: [number, string, string][] = [
  [1, 'Ada Lovelace', 'ada@example.com'],
  [2, 'Grace Hopper', 'grace@example.com'],
  [3, 'Alan Turing', 'alan@example.com'],
  [4, 'Katherine Johnson', 'katherine@example.com'],
  [5, 'Edsger Dijkstra', 'edsger@example.com'],
  [6, 'Barbara Liskov', 'barbara@example.com'],
  [7, 'Acme Corp', 'billing@acme.example'],
  [8, 'Load tester', 'load@example.com'],
];

export function seed(db: Db): void {
  createSchema(db);
  const customer = db.prepare('INSERT INTO customers (id, name, email) VALUES (?, ?, ?)');
  for (const c of CUSTOMERS) customer.run(...c);
  const payment = db.prepare(
    "INSERT INTO payments (customer_id, amount_cents, currency, status, provider_charge_id, created_at) VALUES (?, ?, 'EUR', ?, ?, ?)",
  );
  // Payment 1: 49.99 EUR by Ada, payment 2: 120.00 EUR by Grace, then a few dozen more.
  payment.run(1, 4999, 'succeeded', 'ch_0001', '2026-11-01T10:00:00Z');
  payment.run(2, 12000, 'succeeded', 'ch_0002', '2026-11-01T10:05:00Z');
  for (let i = 3; i <= 40; i++) {
    const customerId = (i % 7) + 1;
    payment.run(customerId, 500 + ((i * 733) % 20000), i % 9 === 0 ? 'failed' : 'succeeded', `ch_${String(i).padStart(4, '0')}`, `2026-11-0${1 + (i % 9)}T12:${String(i).padStart(2, '0')}:00Z`);
  }
  db.prepare('INSERT INTO simulator_settings (id, latency_ms, failure_rate) VALUES (1, 30, 0)').run();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  mkdirSync(dirname(DB_PATH), { recursive: true });
  for (const suffix of ['', '-wal', '-shm']) rmSync(DB_PATH + suffix, { force: true });
  const db = open();
  seed(db);
  db.close();
  console.log(`seeded ${DB_PATH}`);
}
