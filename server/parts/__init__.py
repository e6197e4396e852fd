"""Spare parts: catalogue, stock locations and vans, the stock ledger, serial units,
reservations, returns, replenishment and stock reports."""

from server.parts import service
from server.parts.models import MovementKind, Part, StockMovement

# Last: the stock reports read the face above (server.parts.service).
from server.parts.reports import service as stock_reports
from server.parts.schemas import MovementCreate, Qty

__all__ = [
    "MovementCreate",
    "MovementKind",
    "Part",
    "Qty",
    "StockMovement",
    "service",
    "stock_reports",
]
