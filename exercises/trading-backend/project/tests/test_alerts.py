def test_list_alerts(client):
    alerts = client.get("/users/1/alerts").json()
    assert [(a["symbol"], a["direction"], a["target_price"]) for a in alerts] == [
        ("AAPL", "above", 240.0),
        ("TSLA", "below", 200.0),
        ("NVDA", "above", 150.0),
    ]
    assert alerts[0]["stock_name"] == "Apple Inc."
    assert alerts[0]["current_price"] == 229.87
    assert alerts[0]["triggered"] is False


def test_alerts_of_unknown_user_is_404(client):
    assert client.get("/users/999/alerts").status_code == 404


def test_create_alert(client):
    response = client.post(
        "/alerts",
        json={"user_id": 4, "symbol": "nvda", "target_price": 120.0, "direction": "below"},
    )
    assert response.status_code == 201
    alert = response.json()
    assert alert["symbol"] == "NVDA"
    assert alert["user_id"] == 4
    assert alert["triggered"] is False
    assert [a["id"] for a in client.get("/users/4/alerts").json()] == [alert["id"]]


def test_alert_triggers_when_price_crosses_target(client):
    client.put("/stocks/AAPL/price", json={"price": 245.0})
    alerts = client.get("/users/1/alerts").json()
    assert alerts[0]["symbol"] == "AAPL"
    assert alerts[0]["triggered"] is True


def test_create_alert_for_unknown_stock_is_404(client):
    response = client.post(
        "/alerts",
        json={"user_id": 1, "symbol": "NOPE", "target_price": 10.0, "direction": "above"},
    )
    assert response.status_code == 404


def test_create_alert_with_bad_direction_is_422(client):
    response = client.post(
        "/alerts",
        json={"user_id": 1, "symbol": "AAPL", "target_price": 10.0, "direction": "sideways"},
    )
    assert response.status_code == 422
