CREATE TABLE users (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    cash REAL NOT NULL
);

CREATE TABLE stocks (
    symbol     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    price      REAL NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE holdings (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    symbol   TEXT NOT NULL REFERENCES stocks (symbol),
    quantity INTEGER NOT NULL,
    PRIMARY KEY (user_id, symbol)
);

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    symbol       TEXT NOT NULL REFERENCES stocks (symbol),
    target_price REAL NOT NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('above', 'below')),
    created_at   TEXT NOT NULL
);

CREATE INDEX alerts_user_id ON alerts (user_id);

CREATE TABLE orders (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    symbol     TEXT NOT NULL REFERENCES stocks (symbol),
    side       TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity   INTEGER NOT NULL,
    price      REAL NOT NULL,
    total      REAL NOT NULL,
    created_at TEXT NOT NULL
);
