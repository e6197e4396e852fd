"""The dispatch board's answer (docs/dispatch.md "Board")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import Field

from server.schemas import Output


class Segment(Output):
    kind: Literal["travel", "work", "break", "gap", "off"]
    start: dt.datetime
    end: dt.datetime
    ticket_id: uuid.UUID | None = None
    number: str | None = None


class BoardEngineer(Output):
    engineer_id: uuid.UUID
    name: str
    territory: str | None
    shifts: list[tuple[dt.datetime, dt.datetime]]
    segments: list[Segment]


class Board(Output):
    date: dt.date
    territory: str | None
    day_start: dt.datetime
    day_end: dt.datetime
    engineers: list[BoardEngineer]
    map: dict[str, Any] = Field(
        description="GeoJSON FeatureCollection of points: engineers' last known positions "
        "(kind engineer) and the day's work orders (kind job)"
    )
