"""The generated history's cast, as the generator needs it in memory: engineers (with their
van, team, territory and rate), the installed base (assets on customers' sites in
territories), the SLA policies with their calendars, the parts per product model and the
survey template. Built by ``reference`` (written to the database), read by ``orders``."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from server.reports.history.world import Model


@dataclass(frozen=True, slots=True)
class Staff:
    id: uuid.UUID
    label: str  # the audit label of their user ("user:<e-mail>")
    territory: str
    team: str
    van_id: uuid.UUID
    repeat_chance: float
    saturday: bool  # also works Saturday mornings


@dataclass(frozen=True, slots=True)
class Unit:
    """An asset in the installed base, with where it is."""

    id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    model: Model
    territory: str
    service_site_id: uuid.UUID
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Policy:
    id: uuid.UUID
    response_minutes: int
    resolution_minutes: int
    calendar: Any  # tickets' BusinessCalendar arithmetic object (always open for P1)


@dataclass(frozen=True, slots=True)
class PartRef:
    id: uuid.UUID
    cost: Decimal
    price: Decimal


@dataclass
class Cast:
    org_id: uuid.UUID
    timezone: str
    now: dt.datetime
    first_day: dt.date
    last_day: dt.date
    dispatcher: str  # audit labels of the office staff
    agent: str
    warehouse_id: uuid.UUID
    template_id: uuid.UUID
    first_number: int  # the ticket counter before the history
    staff: dict[str, list[Staff]] = field(default_factory=dict)  # by territory
    units: dict[str, list[Unit]] = field(default_factory=dict)  # by equipment category
    policies: dict[str, Policy] = field(default_factory=dict)  # by priority
    parts: dict[str, list[PartRef]] = field(default_factory=dict)  # by product model, "*"
    part_costs: dict[uuid.UUID, Decimal] = field(default_factory=dict)
