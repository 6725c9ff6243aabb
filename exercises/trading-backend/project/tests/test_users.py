def test_list_users(client):
    users = client.get("/users").json()
    assert [user["name"] for user in users] == ["alice", "bob", "carol", "stresstest", "dave"]


def test_get_user(client):
    assert client.get("/users/2").json() == {"id": 2, "name": "bob", "cash": 8200.50}


def test_unknown_user_is_404(client):
    assert client.get("/users/999").status_code == 404


def test_portfolio(client):
    portfolio = client.get("/users/3/portfolio").json()
    assert portfolio == {
        "user_id": 3,
        "cash": 10000.0,
        "holdings": [{"symbol": "MSFT", "quantity": 5, "price": 431.20, "value": 2156.0}],
        "total_value": 12156.0,
    }


def test_portfolio_values_follow_prices(client):
    client.put("/stocks/MSFT/price", json={"price": 400.0})
    portfolio = client.get("/users/3/portfolio").json()
    assert portfolio["holdings"][0]["value"] == 2000.0
    assert portfolio["total_value"] == 12000.0


def test_portfolio_of_user_without_holdings(client):
    portfolio = client.get("/users/4/portfolio").json()
    assert portfolio["holdings"] == []
    assert portfolio["total_value"] == portfolio["cash"] == 50000.0
