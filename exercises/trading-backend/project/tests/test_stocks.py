def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_list_stocks(client):
    response = client.get("/stocks")
    assert response.status_code == 200
    symbols = [stock["symbol"] for stock in response.json()]
    assert symbols == ["AAPL", "AMZN", "GOOGL", "MSFT", "NVDA", "TSLA"]


def test_get_stock(client):
    response = client.get("/stocks/AAPL")
    assert response.status_code == 200
    stock = response.json()
    assert stock["symbol"] == "AAPL"
    assert stock["name"] == "Apple Inc."
    assert stock["price"] == 229.87


def test_get_stock_is_case_insensitive(client):
    assert client.get("/stocks/msft").json()["symbol"] == "MSFT"


def test_unknown_stock_is_404(client):
    response = client.get("/stocks/NOPE")
    assert response.status_code == 404
    assert response.json() == {"detail": "stock NOPE not found"}


def test_update_price(client):
    response = client.put("/stocks/TSLA/price", json={"price": 251.10})
    assert response.status_code == 200
    assert response.json()["price"] == 251.10
    assert client.get("/stocks/TSLA").json()["price"] == 251.10


def test_update_price_of_unknown_stock_is_404(client):
    assert client.put("/stocks/NOPE/price", json={"price": 1.0}).status_code == 404
