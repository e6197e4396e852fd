"""Imports every model so Base.metadata is complete (Alembic, tests)."""

from server.auth.models import ApiKey, RefreshToken, User
from server.customers.models import Asset, Customer, Site
from server.db import Base
from server.engineers.models import Engineer
from server.events.models import OutboxEvent
from server.idempotency.models import IdempotencyRecord
from server.orgs.models import Organisation
from server.parts.models import Part, StockBalance, StockLocation, StockMovement
from server.parts.tracking_models import PartReturn, StockLevel, StockUnit
from server.tickets.models import (
    BusinessCalendar,
    SlaPolicy,
    Ticket,
    TicketCounter,
    TicketEvent,
)

__all__ = [
    "ApiKey",
    "Asset",
    "Base",
    "BusinessCalendar",
    "Customer",
    "Engineer",
    "IdempotencyRecord",
    "Organisation",
    "OutboxEvent",
    "Part",
    "PartReturn",
    "RefreshToken",
    "Site",
    "SlaPolicy",
    "StockBalance",
    "StockLevel",
    "StockLocation",
    "StockMovement",
    "StockUnit",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "User",
]
