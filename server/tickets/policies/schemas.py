from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import Field, model_validator

from server.schemas import AsciiNumber, Date, Input, Output
from server.tickets.models import Priority
from server.tickets.policies.calendar import BusinessCalendar as CalendarMath

Minutes = Annotated[int, Field(ge=1, le=365 * 24 * 60), AsciiNumber]
Hours = dict[str, list[tuple[str, str]]]


def _check_calendar(timezone: str | None, hours: Hours | None, holidays: list[dt.date]) -> None:
    # The calendar arithmetic is the authority on what a valid calendar is.
    CalendarMath.from_config(timezone or "UTC", hours or {}, holidays)


class CalendarCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    timezone: Annotated[str, Field(min_length=1, max_length=64)]
    hours: Hours = Field(description='Per weekday, open intervals: {"mon": [["08:30", "17:30"]]}')
    holidays: Annotated[list[Date], Field(max_length=400)] = []

    @model_validator(mode="after")
    def _valid(self) -> CalendarCreate:
        _check_calendar(self.timezone, self.hours, self.holidays)
        if not any(self.hours.values()):
            raise ValueError("a calendar needs at least one open interval")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Shanghai office",
                    "timezone": "Asia/Shanghai",
                    "hours": {
                        d: [["08:30", "12:00"], ["13:00", "17:30"]]
                        for d in ("mon", "tue", "wed", "thu", "fri")
                    },
                    "holidays": ["2026-10-01", "2026-10-02"],
                }
            ]
        }
    }


class CalendarUpdate(Input):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    hours: Hours | None = None
    holidays: Annotated[list[Date], Field(max_length=400)] | None = None


class CalendarRead(Output):
    id: uuid.UUID
    name: str
    timezone: str
    hours: dict[str, list[list[str]]]
    holidays: list[dt.date]
    version: int
    created_at: dt.datetime


class PolicyCreate(Input):
    priority: Priority
    response_minutes: Minutes = Field(description="Business minutes to first response")
    resolution_minutes: Minutes = Field(description="Business minutes to resolution")
    calendar_id: uuid.UUID | None = Field(
        default=None, description="Business-hours calendar; null counts around the clock"
    )
    customer_id: uuid.UUID | None = Field(
        default=None, description="Set to override the organisation's policy for one customer"
    )

    @model_validator(mode="after")
    def _order(self) -> PolicyCreate:
        if self.resolution_minutes < self.response_minutes:
            raise ValueError("resolution_minutes cannot be shorter than response_minutes")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [{"priority": "P1", "response_minutes": 60, "resolution_minutes": 480}]
        }
    }


class PolicyUpdate(Input):
    response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    calendar_id: uuid.UUID | None = None


class PolicyRead(Output):
    id: uuid.UUID
    priority: Priority
    response_minutes: int
    resolution_minutes: int
    calendar_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    version: int
    created_at: dt.datetime
