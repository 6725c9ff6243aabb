import logging
import sqlite3
import time
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request

from app import broker
from app.db import get_db, now, statement_count
from app.models import (
    Alert,
    AlertIn,
    Holding,
    Order,
    OrderIn,
    Portfolio,
    PriceUpdate,
    Stock,
    User,
)

logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
log = logging.getLogger("trading")

app = FastAPI(title="Trading backend", version="1.0.0")

Db = Annotated[sqlite3.Connection, Depends(get_db)]


@app.middleware("http")
async def log_requests(request: Request, call_next):
    counter = [0]
    token = statement_count.set(counter)
    started = time.perf_counter()
    try:
        response = await call_next(request)
    finally:
        statement_count.reset(token)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code < 400:
        response.headers["X-SQL-Statements"] = str(counter[0])
    log.info(
        "%s %s -> %d in %.1f ms, sql_statements=%d",
        request.method,
        request.url.path,
        response.status_code,
        elapsed_ms,
        counter[0],
    )
    return response


def fetch_user(db: sqlite3.Connection, user_id: int) -> sqlite3.Row:
    user = db.execute("SELECT id, name, cash FROM users WHERE id = ?", (user_id,)).fetchone()
    if user is None:
        raise HTTPException(status_code=404, detail=f"user {user_id} not found")
    return user


def fetch_stock(db: sqlite3.Connection, symbol: str) -> sqlite3.Row:
    stock = db.execute(
        "SELECT symbol, name, price, updated_at FROM stocks WHERE symbol = ?",
        (symbol.upper(),),
    ).fetchone()
    if stock is None:
        raise HTTPException(status_code=404, detail=f"stock {symbol.upper()} not found")
    return stock


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


# --- stocks -----------------------------------------------------------------


@app.get("/stocks", response_model=list[Stock])
def list_stocks(db: Db):
    return [dict(row) for row in db.execute("SELECT * FROM stocks ORDER BY symbol")]


@app.get("/stocks/{symbol}", response_model=Stock)
def get_stock(symbol: str, db: Db):
    return dict(fetch_stock(db, symbol))


@app.put("/stocks/{symbol}/price", response_model=Stock)
def update_price(symbol: str, update: PriceUpdate, db: Db):
    stock = fetch_stock(db, symbol)
    db.execute(
        "UPDATE stocks SET price = ?, updated_at = ? WHERE symbol = ?",
        (update.price, now(), stock["symbol"]),
    )
    db.commit()
    return dict(fetch_stock(db, symbol))


# --- users ------------------------------------------------------------------


@app.get("/users", response_model=list[User])
def list_users(db: Db):
    return [dict(row) for row in db.execute("SELECT id, name, cash FROM users ORDER BY id")]


@app.get("/users/{user_id}", response_model=User)
def get_user(user_id: int, db: Db):
    return dict(fetch_user(db, user_id))


@app.get("/users/{user_id}/portfolio", response_model=Portfolio)
def get_portfolio(user_id: int, db: Db):
    user = fetch_user(db, user_id)
    rows = db.execute(
        """
        SELECT h.symbol, h.quantity, s.price
        FROM holdings h JOIN stocks s ON s.symbol = h.symbol
        WHERE h.user_id = ? AND h.quantity > 0
        ORDER BY h.symbol
        """,
        (user_id,),
    ).fetchall()
    holdings = [
        Holding(
            symbol=row["symbol"],
            quantity=row["quantity"],
            price=row["price"],
            value=round(row["quantity"] * row["price"], 2),
        )
        for row in rows
    ]
    total = user["cash"] + sum(h.value for h in holdings)
    return Portfolio(
        user_id=user_id,
        cash=round(user["cash"], 2),
        holdings=holdings,
        total_value=round(total, 2),
    )


# --- alerts -----------------------------------------------------------------


def is_triggered(direction: str, target_price: float, price: float) -> bool:
    if direction == "above":
        return price >= target_price
    return price <= target_price


@app.get("/users/{user_id}/alerts", response_model=list[Alert])
def list_alerts(user_id: int, db: Db):
    fetch_user(db, user_id)
    alerts = []
    for row in db.execute("SELECT * FROM alerts WHERE user_id = ? ORDER BY id", (user_id,)).fetchall():
        stock = fetch_stock(db, row["symbol"])
        alerts.append(
            Alert(
                **dict(row),
                stock_name=stock["name"],
                current_price=stock["price"],
                triggered=is_triggered(row["direction"], row["target_price"], stock["price"]),
            )
        )
    return alerts


@app.post("/alerts", response_model=Alert, status_code=201)
def create_alert(alert: AlertIn, db: Db):
    fetch_user(db, alert.user_id)
    stock = fetch_stock(db, alert.symbol)
    cursor = db.execute(
        "INSERT INTO alerts (user_id, symbol, target_price, direction, created_at) VALUES (?, ?, ?, ?, ?)",
        (alert.user_id, stock["symbol"], alert.target_price, alert.direction, now()),
    )
    db.commit()
    row = db.execute("SELECT * FROM alerts WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return Alert(
        **dict(row),
        stock_name=stock["name"],
        current_price=stock["price"],
        triggered=is_triggered(row["direction"], row["target_price"], stock["price"]),
    )


# --- orders -----------------------------------------------------------------


@app.post("/orders", response_model=Order, status_code=201)
def place_order(order: OrderIn, db: Db):
    user = fetch_user(db, order.user_id)
    stock = fetch_stock(db, order.symbol)
    symbol = stock["symbol"]

    if order.side == "buy":
        cost = stock["price"] * order.quantity
        if user["cash"] < cost:
            raise HTTPException(status_code=400, detail="insufficient funds")
    else:
        held = db.execute(
            "SELECT quantity FROM holdings WHERE user_id = ? AND symbol = ?",
            (user["id"], symbol),
        ).fetchone()
        if held is None or held["quantity"] < order.quantity:
            raise HTTPException(status_code=400, detail="insufficient shares")

    price = broker.execute(symbol, order.side, order.quantity, stock["price"])
    total = round(price * order.quantity, 2)

    if order.side == "buy":
        db.execute("UPDATE users SET cash = cash - ? WHERE id = ?", (total, user["id"]))
        db.execute(
            """
            INSERT INTO holdings (user_id, symbol, quantity) VALUES (?, ?, ?)
            ON CONFLICT (user_id, symbol) DO UPDATE SET quantity = quantity + excluded.quantity
            """,
            (user["id"], symbol, order.quantity),
        )
    else:
        db.execute("UPDATE users SET cash = cash + ? WHERE id = ?", (total, user["id"]))
        db.execute(
            "UPDATE holdings SET quantity = quantity - ? WHERE user_id = ? AND symbol = ?",
            (order.quantity, user["id"], symbol),
        )
    cursor = db.execute(
        "INSERT INTO orders (user_id, symbol, side, quantity, price, total, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (user["id"], symbol, order.side, order.quantity, price, total, now()),
    )
    db.commit()
    return dict(db.execute("SELECT * FROM orders WHERE id = ?", (cursor.lastrowid,)).fetchone())
