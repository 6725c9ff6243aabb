// A small stand-in for the card processor the service charges through: POST /charges answers
// {"id", "status"} after a short delay. Its knobs (latency, failure rate) are in the
// simulator_settings table of data/payments.db, read on every request.
import http from 'node:http';
import Database from 'better-sqlite3';

const PORT = Number(process.env.PROVIDER_PORT ?? 9100);
const DB = process.env.PAYMENTS_DB ?? new URL('../data/payments.db', import.meta.url).pathname;
let next = 1000;

function settings() {
  try {
    const db = new Database(DB, { readonly: true, fileMustExist: true });
    const row = db.prepare('SELECT latency_ms, failure_rate FROM simulator_settings WHERE id = 1').get();
    db.close();
    return row ?? { latency_ms: 30, failure_rate: 0 };
  } catch {
    return { latency_ms: 30, failure_rate: 0 };
  }
}

http
  .createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const { latency_ms, failure_rate } = settings();
      setTimeout(() => {
        if (req.method !== 'POST' || req.url !== '/charges') {
          res.writeHead(404).end();
        } else if (Math.random() < failure_rate) {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"provider unavailable"}');
        } else {
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `ch_${next++}`, status: 'succeeded' }));
        }
      }, latency_ms);
    });
  })
  .listen(PORT, '127.0.0.1', () => console.log(`provider simulator on 127.0.0.1:${PORT}`));
