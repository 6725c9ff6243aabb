"""SQLite access: one connection per request."""

import os
import sqlite3
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_DB_PATH = "data/trading.db"
SCHEMA_PATH = Path(__file__).with_name("schema.sql")

# Number of SQL statements run while handling the current request (see the
# request logging middleware in main.py).
statement_count: ContextVar[list[int] | None] = ContextVar("statement_count", default=None)


def db_path() -> str:
    """The database file: $TRADING_DB, or data/trading.db relative to the working directory."""
    return os.environ.get("TRADING_DB", DEFAULT_DB_PATH)


def connect(path: str | None = None) -> sqlite3.Connection:
    # FastAPI may open the connection in one worker thread and use it in
    # another, hence check_same_thread=False. The timeout makes a writer wait
    # for a concurrent one instead of failing with "database is locked".
    conn = sqlite3.connect(path or db_path(), timeout=5.0, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    counter = statement_count.get()
    if counter is not None:
        def count(_sql: str) -> None:
            counter[0] += 1

        conn.set_trace_callback(count)
    return conn


def get_db() -> Iterator[sqlite3.Connection]:
    """FastAPI dependency: a connection for the duration of one request."""
    conn = connect()
    try:
        yield conn
    finally:
        conn.close()


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA_PATH.read_text())


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
