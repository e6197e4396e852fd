"""What the history generator plans for one work order (``orders``) and what writing it
gives back (``writer``): plain data both sides share, so neither imports the other."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from server.reports.history.setup import Staff, Unit


@dataclass(slots=True)
class Step:
    at: dt.datetime
    kind: str
    action: str | None
    source: str | None
    target: str | None
    actor: str
    reason: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Trip:
    """One visit: travel from ``start`` to ``arrive`` and work until ``leave``."""

    number: int
    staff: Staff
    start: dt.datetime
    arrive: dt.datetime
    leave: dt.datetime
    parts: int = 0


@dataclass(slots=True)
class Plan:
    id: uuid.UUID
    number: int
    unit: Unit
    created: dt.datetime
    type: str
    priority: str
    channel: str
    fault: str | None
    repeat_of: uuid.UUID | None
    staff: Staff
    steps: list[Step] = field(default_factory=list)
    trips: list[Trip] = field(default_factory=list)
    holds: list[tuple[dt.datetime, dt.datetime | None, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Result:
    """What the generator needs back: whether and when it was resolved (by whom, with
    which fault), to plant a repeat repair after it."""

    id: uuid.UUID
    resolved_at: dt.datetime | None
    staff: Staff | None
    fault: str | None
    type: str
