from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, EmailStr, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from server.engineers.shifts import KINDS
from server.schemas import (
    AsciiNumber,
    Input,
    Instant,
    Latitude,
    Longitude,
    Output,
    Territory,
    Text200,
    matching,
)
from server.text import quote

_SKILL_NAME = r"^[\w\- .]+$"
SkillName = Annotated[
    str,
    Field(min_length=1, max_length=60, json_schema_extra={"pattern": _SKILL_NAME}),
    matching(
        _SKILL_NAME,
        "a skill's name is letters, digits, spaces, '-' and '.' (e.g. hvac); its level is "
        "the value, 1 to 5",
    ),
]
Level = Annotated[int, Field(ge=1, le=5), AsciiNumber]
Skills = Annotated[dict[SkillName, Level], Field(max_length=50)]
# ASCII digits ("\d" also takes "٨"), matched whole ("$" also takes a final newline).
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# The team the KPIs group an engineer under (blank refused, like a territory), and their
# labour cost rate in the organisation's currency per hour (the KPIs' labour cost).
def _team(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError(
            "team_blank", "a team needs a name (1 to 100 characters); send null for none"
        )
    return value


Team = Annotated[
    str, Field(max_length=100, json_schema_extra={"minLength": 1}), AfterValidator(_team)
]
# At most ten million an hour (even in currencies of small units): a larger rate is a typo,
# and a work order's labour cost must fit its column.
HourlyCost = Annotated[
    Decimal,
    Field(ge=0, le=10_000_000, max_digits=12, decimal_places=2),
    AsciiNumber,
    AfterValidator(lambda v: v.quantize(Decimal("0.01"))),  # 90 reads back as 90.00
]
WorkingHours = dict[str, list[tuple[str, str]]]
JobsPerDay = Annotated[
    int, Field(ge=1, le=50, description="At most this many jobs a day"), AsciiNumber
]
MinutesPerDay = Annotated[
    int, Field(ge=1, le=1440, description="At most this many minutes of work a day"), AsciiNumber
]
Rating = Annotated[
    float, Field(ge=0, le=5, description="0 to 5; new engineers start at 4.0"), AsciiNumber
]
SiteRef = Annotated[
    uuid.UUID | None,
    Field(description="A service site of the organisation (GET /api/v1/service-sites); null: home"),
]


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class DaySite(BaseModel):
    """Where the day starts and ends on one weekday: a service site, or home (null)."""

    model_config = {"extra": "forbid"}

    start: SiteRef = None
    end: SiteRef = None


DaySites = Annotated[
    dict[Day, DaySite],
    Field(
        description="Another start or end on some weekdays, e.g. "
        '{"sat": {"start": "<service site id>", "end": null}} (null: home); a weekday not '
        "named uses start_site_id / end_site_id",
    ),
]


def _check_hours(value: WorkingHours | None) -> WorkingHours | None:
    if value is None:
        return value
    for day, intervals in value.items():
        if day not in _DAYS:
            raise ValueError(f"unknown day {quote(day)}; use {', '.join(_DAYS)}")
        for start, end in intervals:
            if not (_HHMM.fullmatch(start) and _HHMM.fullmatch(end)) or end <= start:
                shown = f"{quote(start, 20)}-{quote(end, 20)}"
                raise ValueError(f"{day}: interval {shown} must be HH:MM with end after start")
    return value


class EngineerCreate(Input):
    email: EmailStr
    password: Annotated[str, Field(min_length=10, max_length=200)]
    display_name: Text200
    phone: Annotated[str, Field(max_length=40)] | None = None
    skills: Skills = {}
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    working_hours: WorkingHours = {}
    territory: Territory | None = None
    team: Team | None = None
    hourly_cost: HourlyCost | None = None
    locale: Annotated[str, Field(pattern=r"^(en|zh_CN)$")] = "en"
    max_jobs_per_day: JobsPerDay | None = None
    max_minutes_per_day: MinutesPerDay | None = None
    rating: Rating = 4.0
    start_site_id: SiteRef = None
    end_site_id: SiteRef = None
    day_sites: DaySites = {}

    _hours = field_validator("working_hours")(_check_hours)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "email": "li.na@example.com",
                    "password": "a-long-secret-1",
                    "display_name": "李娜",
                    "skills": {"hvac": 4, "electrical": 2},
                    "home_lat": 31.23,
                    "home_lon": 121.47,
                    "working_hours": {"mon": [["08:00", "17:00"]]},
                    "territory": "Shanghai-Pudong",
                    "team": "HVAC East",
                    "hourly_cost": "85.00",
                    "locale": "zh_CN",
                    "max_jobs_per_day": 6,
                    "max_minutes_per_day": 480,
                }
            ]
        }
    }


class EngineerUpdate(Input):
    display_name: Text200 | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    skills: Skills | None = None
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    working_hours: WorkingHours | None = None
    territory: Territory | None = None
    team: Team | None = None
    hourly_cost: HourlyCost | None = None
    active: bool | None = None
    max_jobs_per_day: JobsPerDay | None = None
    max_minutes_per_day: MinutesPerDay | None = None
    rating: Rating | None = None
    start_site_id: SiteRef = None
    end_site_id: SiteRef = None
    day_sites: DaySites | None = None

    _hours = field_validator("working_hours")(_check_hours)


class EngineerRead(Output):
    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    phone: str | None
    skills: dict[str, int]
    home_lat: float | None
    home_lon: float | None
    working_hours: dict[str, list[list[str]]]
    territory: str | None
    team: str | None
    hourly_cost: Decimal | None
    max_jobs_per_day: int | None
    max_minutes_per_day: int | None
    rating: float
    start_site_id: uuid.UUID | None
    end_site_id: uuid.UUID | None
    day_sites: dict[str, dict[str, uuid.UUID | None]]
    active: bool
    version: int
    created_at: dt.datetime


# --- time off and shifts ---------------------------------------------------------------------

MAX_TIME_OFF = dt.timedelta(days=366)
TimeOffKind = Literal["leave", "sick", "training", "extra"]
assert set(get_args(TimeOffKind)) == set(KINDS), "engineers.shifts.KINDS changed"


class TimeOffCreate(Input):
    kind: TimeOffKind = Field(
        description="leave, sick, training: time out of the weekly hours; extra: a shift added"
    )
    starts_at: Instant
    ends_at: Instant
    note: Annotated[str, Field(max_length=500)] | None = None

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        starts = info.data.get("starts_at")
        if starts is None:
            return value
        if value <= starts:
            raise ValueError("ends_at must be after starts_at")
        if value - starts > MAX_TIME_OFF:
            raise ValueError("time off is at most 366 days long: split a longer absence")
        return value

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "leave",
                    "starts_at": "2026-12-14T00:00:00+08:00",
                    "ends_at": "2026-12-16T00:00:00+08:00",
                    "note": "Annual leave",
                }
            ]
        }
    }


class TimeOffRead(Output):
    id: uuid.UUID
    engineer_id: uuid.UUID
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    note: str | None
    created_at: dt.datetime


class Shift(BaseModel):
    start: dt.datetime
    end: dt.datetime


class DayShifts(BaseModel):
    date: dt.date
    shifts: list[Shift] = Field(description="[start, end) instants, time off applied")


class ShiftsRead(BaseModel):
    engineer_id: uuid.UUID
    timezone: str = Field(description="The organisation's time zone the dates are read in")
    days: list[DayShifts]
