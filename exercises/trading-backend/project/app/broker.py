"""Order execution at the exchange (simulated).

A real deployment hands the order to a broker API and waits for the fill
confirmation. Here the round trip is simulated: the order fills at the quoted
price after a fixed latency.
"""

import os
import time

EXECUTION_LATENCY_SECONDS = float(os.environ.get("TRADING_EXECUTION_LATENCY", "0.2"))


def execute(symbol: str, side: str, quantity: int, quoted_price: float) -> float:
    """Send a market order and return the fill price."""
    time.sleep(EXECUTION_LATENCY_SECONDS)
    return quoted_price
