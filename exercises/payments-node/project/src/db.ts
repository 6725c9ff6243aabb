import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Db = Database.Database;

export const DB_PATH = process.env.PAYMENTS_DB ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'payments.db');

export function open(path = DB_PATH): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

export function createSchema(db: Db): void {
  db.exec(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'schema.sql'), 'utf8'));
}

export const now = () => new Date().toISOString();
