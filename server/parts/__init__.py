"""Spare parts: catalogue, stock locations and vans, the stock ledger, serial units,
reservations, returns, replenishment and stock reports."""

from server.parts import service
from server.parts.models import MovementKind, Part, StockMovement
from server.parts.schemas import MovementCreate, Qty

__all__ = [
    "MovementCreate",
    "MovementKind",
    "Part",
    "Qty",
    "StockMovement",
    "service",
]
