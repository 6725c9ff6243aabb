from typing import Literal

from pydantic import BaseModel, Field


class Stock(BaseModel):
    symbol: str
    name: str
    price: float
    updated_at: str


class PriceUpdate(BaseModel):
    price: float


class User(BaseModel):
    id: int
    name: str
    cash: float


class AlertIn(BaseModel):
    user_id: int
    symbol: str
    target_price: float
    direction: Literal["above", "below"]


class Alert(BaseModel):
    id: int
    user_id: int
    symbol: str
    stock_name: str
    target_price: float
    direction: Literal["above", "below"]
    current_price: float
    triggered: bool
    created_at: str


class OrderIn(BaseModel):
    user_id: int
    symbol: str
    side: Literal["buy", "sell"]
    quantity: int = Field(gt=0)


class Order(BaseModel):
    id: int
    user_id: int
    symbol: str
    side: Literal["buy", "sell"]
    quantity: int
    price: float
    total: float
    created_at: str


class Holding(BaseModel):
    symbol: str
    quantity: int
    price: float
    value: float


class Portfolio(BaseModel):
    user_id: int
    cash: float
    holdings: list[Holding]
    total_value: float
