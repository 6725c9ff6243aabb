import pytest
from fastapi.testclient import TestClient

from app import broker
from app.db import connect
from app.main import app
from app.seed import seed


@pytest.fixture()
def db_path(tmp_path, monkeypatch):
    """A freshly seeded database of its own for each test."""
    path = tmp_path / "trading.db"
    monkeypatch.setenv("TRADING_DB", str(path))
    conn = connect(str(path))
    seed(conn)
    conn.close()
    return path


@pytest.fixture()
def client(db_path, monkeypatch):
    monkeypatch.setattr(broker, "EXECUTION_LATENCY_SECONDS", 0)
    with TestClient(app) as client:
        yield client
