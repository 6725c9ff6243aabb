import pytest


def buy(client, user_id, symbol, quantity):
    return client.post(
        "/orders", json={"user_id": user_id, "symbol": symbol, "side": "buy", "quantity": quantity}
    )


def sell(client, user_id, symbol, quantity):
    return client.post(
        "/orders", json={"user_id": user_id, "symbol": symbol, "side": "sell", "quantity": quantity}
    )


def test_buy(client):
    response = buy(client, 3, "NVDA", 10)
    assert response.status_code == 201
    order = response.json()
    assert order["side"] == "buy"
    assert order["price"] == 135.20
    assert order["total"] == 1352.0

    assert client.get("/users/3").json()["cash"] == pytest.approx(10000 - 1352.0)
    holdings = {h["symbol"]: h["quantity"] for h in client.get("/users/3/portfolio").json()["holdings"]}
    assert holdings == {"MSFT": 5, "NVDA": 10}


def test_buy_adds_to_existing_holding(client):
    assert buy(client, 3, "MSFT", 2).status_code == 201
    holdings = {h["symbol"]: h["quantity"] for h in client.get("/users/3/portfolio").json()["holdings"]}
    assert holdings == {"MSFT": 7}


def test_buy_without_enough_cash_is_400(client):
    response = buy(client, 5, "MSFT", 10)
    assert response.status_code == 400
    assert response.json() == {"detail": "insufficient funds"}
    assert client.get("/users/5").json()["cash"] == 1250.75


def test_sell(client):
    response = sell(client, 2, "TSLA", 5)
    assert response.status_code == 201
    assert response.json()["total"] == 1242.5
    assert client.get("/users/2").json()["cash"] == pytest.approx(8200.50 + 1242.5)
    holdings = {h["symbol"]: h["quantity"] for h in client.get("/users/2/portfolio").json()["holdings"]}
    assert holdings == {"AMZN": 10, "TSLA": 10}


def test_selling_everything_removes_the_holding(client):
    assert sell(client, 3, "MSFT", 5).status_code == 201
    assert client.get("/users/3/portfolio").json()["holdings"] == []


def test_sell_more_than_held_is_400(client):
    response = sell(client, 2, "TSLA", 16)
    assert response.status_code == 400
    assert response.json() == {"detail": "insufficient shares"}


def test_sell_stock_not_held_is_400(client):
    assert sell(client, 4, "AAPL", 1).status_code == 400


@pytest.mark.parametrize("quantity", [0, -3])
def test_quantity_must_be_positive(client, quantity):
    assert buy(client, 1, "AAPL", quantity).status_code == 422


def test_order_for_unknown_user_or_stock_is_404(client):
    assert buy(client, 999, "AAPL", 1).status_code == 404
    assert buy(client, 1, "NOPE", 1).status_code == 404


def test_bad_side_is_422(client):
    response = client.post("/orders", json={"user_id": 1, "symbol": "AAPL", "side": "short", "quantity": 1})
    assert response.status_code == 422
