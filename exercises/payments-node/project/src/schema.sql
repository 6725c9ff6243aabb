CREATE TABLE customers (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE
);

CREATE TABLE payments (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers (id),
    amount_cents       INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    provider_charge_id TEXT,
    refunded_cents     INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL
);

CREATE TABLE webhook_events (
    id           INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL,
    payment_id   INTEGER NOT NULL,
    type         TEXT NOT NULL,
    sequence     INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL DEFAULT 0,
    received_at  TEXT NOT NULL
);

-- The local payment provider simulator's knobs (provider/provider.mjs reads them on every
-- request). In production the provider is someone else's system.
CREATE TABLE simulator_settings (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    latency_ms   INTEGER NOT NULL DEFAULT 30,
    failure_rate REAL NOT NULL DEFAULT 0
);
