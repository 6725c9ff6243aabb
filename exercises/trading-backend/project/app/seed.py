"""Create the database and fill it with demo data.

    python -m app.seed

Running it again drops every table and starts over from the same data.
"""

import os
import sqlite3

from app.db import connect, create_schema, db_path, now

USERS = [
    # id, name, cash
    (1, "alice", 25_000.00),
    (2, "bob", 8_200.50),
    (3, "carol", 10_000.00),
    (4, "stresstest", 50_000.00),
    (5, "dave", 1_250.75),
]

STOCKS = [
    # symbol, name, price
    ("AAPL", "Apple Inc.", 229.87),
    ("GOOGL", "Alphabet Inc. Class A", 178.35),
    ("MSFT", "Microsoft Corporation", 431.20),
    ("AMZN", "Amazon.com, Inc.", 201.45),
    ("TSLA", "Tesla, Inc.", 248.50),
    ("NVDA", "NVIDIA Corporation", 135.20),
]

HOLDINGS = [
    # user_id, symbol, quantity
    (1, "AAPL", 50),
    (1, "GOOGL", 20),
    (1, "NVDA", 100),
    (2, "TSLA", 15),
    (2, "AMZN", 10),
    (3, "MSFT", 5),
    (5, "GOOGL", 3),
]

ALERTS = [
    # user_id, symbol, target_price, direction
    (1, "AAPL", 240.00, "above"),
    (1, "TSLA", 200.00, "below"),
    (1, "NVDA", 150.00, "above"),
    (2, "TSLA", 300.00, "above"),
    (3, "MSFT", 400.00, "below"),
]

TABLES = ["orders", "alerts", "holdings", "stocks", "users"]


def seed(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = OFF")
    for table in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.commit()
    create_schema(conn)
    conn.execute("PRAGMA foreign_keys = ON")

    stamp = now()
    conn.executemany("INSERT INTO users (id, name, cash) VALUES (?, ?, ?)", USERS)
    conn.executemany(
        "INSERT INTO stocks (symbol, name, price, updated_at) VALUES (?, ?, ?, ?)",
        [(symbol, name, price, stamp) for symbol, name, price in STOCKS],
    )
    conn.executemany("INSERT INTO holdings (user_id, symbol, quantity) VALUES (?, ?, ?)", HOLDINGS)
    conn.executemany(
        "INSERT INTO alerts (user_id, symbol, target_price, direction, created_at) VALUES (?, ?, ?, ?, ?)",
        [(*alert, stamp) for alert in ALERTS],
    )
    conn.commit()


def main() -> None:
    path = db_path()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    conn = connect(path)
    try:
        seed(conn)
    finally:
        conn.close()
    print(f"Seeded {path}: {len(USERS)} users, {len(STOCKS)} stocks, {len(ALERTS)} alerts")


if __name__ == "__main__":
    main()
