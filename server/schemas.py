"""Schema building blocks shared by the domains."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared import times
from shared.digits import plain_number_text

T = TypeVar("T")

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]


# Who did something, as the audit columns hold it: "user:<e-mail>", "key:<key name>",
# "system". A person's e-mail is theirs to read with engineers:read ("people's profiles"):
# an integration key without it reads "user" (that a person did it, not who), as it reads
# "Van" for an engineer's van. The request's caller sets this (server/deps.py); outside a
# request (jobs, the worker) labels are shown whole.
_people_visible: ContextVar[bool] = ContextVar("people_visible", default=True)


def show_people(visible: bool) -> None:
    _people_visible.set(visible)


def shown_label(label: str | None) -> str | None:
    if label is None or _people_visible.get() or not label.startswith("user:"):
        return label
    return "user"


AuditLabel = Annotated[str, PlainSerializer(shown_label, return_type=str)]


def _ascii_number(value: Any) -> Any:
    # The sync protocol's rule (shared/sync.py), so the phone and the API agree. pydantic
    # alone reads "3_1.2" as 31.2 for a float or an int (and "١٢" as 12 for a Decimal),
    # and true as 1.
    if isinstance(value, bool):
        raise ValueError("send a number, not true or false")
    if isinstance(value, str) and not plain_number_text(value):
        raise ValueError("write the number with the ASCII digits 0-9 and a point")
    # Python's JSON reader takes the non-standard NaN and Infinity, and reads a literal too
    # large for a double (1e309) as infinity; no field means either, and a range check
    # would call NaN "not <= 90", which says nothing of what to fix.
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            "send a finite number: NaN, Infinity and numbers beyond a double (e.g. 1e309) "
            "are not numbers here"
        )
    return value


# For every number a body carries (int, float, Decimal; JSON number or text):
# Annotated[int, Field(...), AsciiNumber]. tests/server/test_body_numbers.py finds any
# number field without it.
AsciiNumber = BeforeValidator(_ascii_number)


def _territory(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError(
            "territory_blank",
            "a territory needs a name (1 to 100 characters); send null for none",
        )
    return value


# A territory's name, wherever one is written or asked for (engineers, service sites, day
# plans, the board). A blank one is refused: an engineer of territory "" would be outside
# every territory, where null means "any".
Territory = Annotated[
    str,
    Field(max_length=100, json_schema_extra={"minLength": 1}),
    AfterValidator(_territory),
]


def matching(regex: str, says: str) -> AfterValidator:
    """Text matching ``regex`` whole, refused with ``says`` (what the text may be, with an
    example) instead of pydantic's "String should match pattern '^[\\w\\- .]+$'", which
    tells a client nothing. Beside it, ``Field(json_schema_extra={"pattern": regex})``
    keeps the pattern in the OpenAPI schema."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("string_pattern_mismatch", says)
        return value

    return AfterValidator(check)


Latitude = Annotated[float, Field(ge=-90, le=90), AsciiNumber]
Longitude = Annotated[float, Field(ge=-180, le=180), AsciiNumber]
Accuracy = Annotated[float, Field(ge=0, le=100_000, description="Radius in metres"), AsciiNumber]


def _refused(exc: times.InstantError, prefix: str) -> PydanticCustomError:
    return PydanticCustomError(f"{prefix}_{exc.kind}", exc.message)


def _instant(value: Any) -> Any:
    """Text is read by the sync protocol's parser (shared/times.py), so the API and the
    phone take the same forms; a datetime (built in Python) is checked alone. Anything
    else is refused here: pydantic would read 1700000000, "1700000000" or "1e9" as
    seconds (or milliseconds, by size) since 1970."""
    try:
        if isinstance(value, dt.datetime):
            return times.check_instant(value)
        return times.parse_instant(value)
    except times.InstantError as exc:
        raise _refused(exc, "instant") from None


def _parser(parse: Callable[[object], dt.date], prefix: str) -> Callable[[Any], Any]:
    """A date field's reader: ISO 8601 date text (or a ``date`` built in Python) only;
    pydantic alone also takes a Unix time and a date-time at midnight."""

    def check(value: Any) -> Any:
        try:
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return parse(value.isoformat())
            return parse(value)
        except times.InstantError as exc:
            raise _refused(exc, prefix) from None

    return check


# Every instant a request carries (body fields and query parameters): the offset is
# required and the UTC value lies in the bounds of shared/times.py (a 422 naming the field
# otherwise). The caller's offset is kept; services store and compare the UTC value.
Instant = Annotated[
    dt.datetime,
    BeforeValidator(_instant),
    Field(
        description=f"ISO 8601 with a UTC offset (Z or +08:00), {times.RANGE}",
        examples=["2026-11-24T09:00:00+08:00"],
        # The bounds, machine-readable (JSON Schema has no keyword for date-time bounds).
        json_schema_extra={
            "x-earliest": times.EARLIEST.isoformat().replace("+00:00", "Z"),
            "x-before": times.LATEST.isoformat().replace("+00:00", "Z"),
        },
    ),
]
# A day the caller asks about in the organisation's time zone, within the instants' years.
Day = Annotated[
    dt.date,
    BeforeValidator(_parser(times.parse_day, "day")),
    Field(
        description=f"An ISO 8601 date, {times.EARLIEST_DAY} to {times.LATEST_DAY}",
        json_schema_extra={
            "x-earliest": times.EARLIEST_DAY.isoformat(),
            "x-latest": times.LATEST_DAY.isoformat(),
        },
    ),
]
# A date that is a fact about something (an install date, a holiday): any year, but an
# ISO 8601 date all the same.
Date = Annotated[
    dt.date,
    BeforeValidator(_parser(times.parse_date, "date")),
    Field(description="An ISO 8601 date, e.g. 2026-11-24", json_schema_extra={"x-iso-date": True}),
]


class Input(BaseModel):
    """Request bodies: unknown fields are refused, so nobody sets org_id or status by accident."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # PostgreSQL text and JSONB cannot hold U+0000: refuse it here (422), not there (500).
        if (where := _nul_at(data, "")) is not None:
            raise ValueError(f"{where or 'body'}: text cannot contain the NUL character (U+0000)")
        return data


def _nul_at(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding U+0000, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and "\x00" in key:
                return f"{path}.{key!r}".lstrip(".")
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    for key, item in items:
        if (found := _nul_at(item, f"{path}.{key}".lstrip("."))) is not None:
            return found
    return None


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    code: str = Field(description="Stable machine-readable error code")
    detail: str
    instance: str | None = None
    errors: list[dict[str, object]] | None = Field(
        default=None,
        description="What is wrong; of validation errors the first 50 (`error_count`: all)",
    )
    error_count: int | None = None
    errors_truncated: bool | None = None
    allowed_actions: list[str] | None = None
