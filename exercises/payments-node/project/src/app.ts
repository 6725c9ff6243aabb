import express, { type NextFunction, type Request, type Response } from 'express';
import { type Db, now } from './db.ts';
import { createCharge } from './provider.ts';

interface PaymentRow {
  id: number;
  customer_id: number;
  amount_cents: number;
  currency: string;
  status: string;
  provider_charge_id: string | null;
  refunded_cents: number;
  created_at: string;
}

export function createApp(db: Db, providerUrl: string) {
  const app = express();
  app.use(express.json());

  // One log line per request: the candidate's first tool.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      console.log(`${req.method} ${req.originalUrl} -> ${res.statusCode} in ${(performance.now() - started).toFixed(1)} ms`);
    });
    next();
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/customers/:id/payments', (req, res) => {
    const rows = db.prepare('SELECT * FROM payments WHERE customer_id = ? ORDER BY created_at DESC').all(Number(req.params.id));
    res.json(rows);
  });

  app.get('/payments/:id', (req, res) => {
    const row = db.prepare('SELECT * FROM payments WHERE id = ?').get(Number(req.params.id));
    if (!row) {
      res.status(404).json({ error: 'payment not found' });
      return;
    }
    res.json(row);
  });

  app.post('/payments', async (req, res) => {
    const { customer_id, amount_cents, currency = 'EUR' } = req.body ?? {};
    if (!Number.isInteger(customer_id) || !Number.isInteger(amount_cents) || amount_cents <= 0) {
      res.status(400).json({ error: 'customer_id and a positive integer amount_cents are required' });
      return;
    }
    if (!db.prepare('SELECT id FROM customers WHERE id = ?').get(customer_id)) {
      res.status(404).json({ error: 'customer not found' });
      return;
    }
    const { lastInsertRowid } = db
      .prepare("INSERT INTO payments (customer_id, amount_cents, currency, status, created_at) VALUES (?, ?, ?, 'pending', ?)")
      .run(customer_id, amount_cents, currency, now());
    const id = Number(lastInsertRowid);
    try {
      const charge = await createCharge(providerUrl, amount_cents, currency, `payment-${id}`);
      db.prepare('UPDATE payments SET status = ?, provider_charge_id = ? WHERE id = ?').run(charge.status, charge.id, id);
    } catch (err) {
      db.prepare("UPDATE payments SET status = 'failed' WHERE id = ?").run(id);
      res.status(502).json({ error: `the charge failed: ${(err as Error).message}` });
      return;
    }
    res.status(201).json(db.prepare('SELECT * FROM payments WHERE id = ?').get(id) as PaymentRow);
  });

  // The provider tells us what happened to a charge.
  app.post('/webhooks/provider', (req, res) => {
    const { id, type, payment_id, sequence, amount_cents = 0 } = req.body ?? {};
    if (typeof id !== 'string' || typeof type !== 'string' || !Number.isInteger(payment_id) || !Number.isInteger(sequence)) {
      res.status(400).json({ error: 'id, type, payment_id and sequence are required' });
      return;
    }
    db.prepare('INSERT INTO webhook_events (event_id, payment_id, type, sequence, amount_cents, received_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      id,
      payment_id,
      type,
      sequence,
      amount_cents,
      now(),
    );
    if (type === 'charge.refunded') {
      db.prepare("UPDATE payments SET status = 'refunded', refunded_cents = refunded_cents + ? WHERE id = ?").run(amount_cents, payment_id);
    } else if (type === 'charge.succeeded') {
      db.prepare("UPDATE payments SET status = 'succeeded' WHERE id = ?").run(payment_id);
    } else if (type === 'charge.failed') {
      db.prepare("UPDATE payments SET status = 'failed' WHERE id = ?").run(payment_id);
    }
    res.json({ received: true });
  });

  return app;
}
