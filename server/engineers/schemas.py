from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated

from pydantic import EmailStr, Field, field_validator

from server.schemas import AsciiNumber, Input, Latitude, Longitude, Output, Text200
from server.text import quote

SkillName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[\w\- .]+$")]
Level = Annotated[int, Field(ge=1, le=5), AsciiNumber]
Skills = Annotated[dict[SkillName, Level], Field(max_length=50)]
# ASCII digits ("\d" also takes "٨"), matched whole ("$" also takes a final newline).
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WorkingHours = dict[str, list[tuple[str, str]]]


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
    territory: Annotated[str, Field(max_length=100)] | None = None
    locale: Annotated[str, Field(pattern=r"^(en|zh_CN)$")] = "en"

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
                    "locale": "zh_CN",
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
    territory: Annotated[str, Field(max_length=100)] | None = None
    active: bool | None = None

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
    active: bool
    version: int
    created_at: dt.datetime
