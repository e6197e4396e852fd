"""Every instant the API accepts follows one rule (shared/times.py): a UTC offset, and a UTC
value from 1970 up to 2200; a day the caller names lies in those years. Otherwise a 422
problem naming the field, with the request id, and nothing written.

Each endpoint is tried with the values that used to get through: year 1 and the end of year
9999 (the driver stores them as -infinity / infinity, and the work order answered 500 from
then on), offsets that push a time past a calendar edge once in UTC, years no business has,
and a time without an offset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import service as field
from server.field.checklists import service as checklists
from server.field.schemas import ItemIn, TemplateCreate
from shared import times
from shared.ids import uuid7
from tests.fixtures.attachments import png, sha
from tests.fixtures.factories import Tenant, make_tenant
from tests.server.field.helpers import on_site, travelling

BAD = {
    "year 1 (stored as -infinity)": "0001-01-01T00:00:00Z",
    "end of year 9999 (stored as infinity)": "9999-12-31T23:59:59.999999Z",
    "+14:00 pushes it before year 1": "0001-01-01T00:00:00+14:00",
    "-14:00 pushes it past year 9999": "9999-12-31T23:59:59-14:00",
    "-14:00 pushes it into 2200": "2199-12-31T23:00:00-14:00",
    "+14:00 pushes it into 1969": "1970-01-01T00:00:00+14:00",
    "1900": "1900-06-01T00:00:00Z",
    "2500": "2500-06-01T00:00:00Z",
    "no offset": "2026-11-24T09:00:00",
}
# Inside the bounds, at their edges: the UTC value counts, not the local one.
EDGES = ["1970-01-01T00:00:00Z", "2199-12-31T23:59:59.999999Z", "2200-01-01T13:59:00+14:00"]
GOOD = "2026-11-24T09:00:00+08:00"
BAD_DAYS = ["0001-01-01", "9999-12-31", "1969-12-31", "2200-01-01"]
GOOD_DAYS = ["1970-01-01", "2199-12-31"]


def assert_refused(response: httpx.Response, field_name: str, value: str) -> None:
    assert response.status_code == 422, (field_name, value, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers.get("x-request-id")
    problem = response.json()
    assert problem["field"] == field_name, problem
    naive = "T" in value and dt.datetime.fromisoformat(value).tzinfo is None
    assert ("offset" if naive else "1970") in problem["detail"], problem


# --- request bodies ------------------------------------------------------------------------


@dataclass
class Prepared:
    method: str
    url: str
    body: Callable[[str], Any]
    stored: str  # what the endpoint writes to, read back to see nothing was written


@dataclass
class Body:
    """One instant in one request body: how to build the request around a value."""

    field: str
    prepare: Callable[[AsyncSession, Tenant], Awaitable[Prepared]]
    who: str = "engineer1"


async def _labour(db: AsyncSession, t: Tenant, key: str) -> Prepared:
    ticket, _ = await on_site(db, t)

    def body(value: str) -> dict[str, Any]:
        times = {"started_at": GOOD, "ended_at": "2026-11-24T10:00:00+08:00", key: value}
        if key == "started_at" and value in EDGES:
            times["ended_at"] = value  # only the 422 for the instant matters here
        return {"entry_id": str(uuid7()), "kind": "work", **times}

    url = f"/api/v1/tickets/{ticket.id}/labour"
    return Prepared("POST", url, body, url)


async def _adjust(db: AsyncSession, t: Tenant, key: str) -> Prepared:
    ticket, _ = await on_site(db, t)
    start = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    entry = await field.add_labour(
        db,
        t.actor("engineer1"),
        ticket_id=ticket.id,
        entry_id=uuid7(),
        kind="work",
        started_at=start,
        ended_at=start + dt.timedelta(hours=1),
    )
    await db.flush()

    def body(value: str) -> dict[str, Any]:
        times = {"started_at": GOOD, "ended_at": "2026-11-24T10:00:00+08:00", key: value}
        return {"adjustment_id": str(uuid7()), "reason": "typo", **times}

    url = f"/api/v1/tickets/{ticket.id}/labour"
    return Prepared("POST", f"{url}/{entry.id}/adjust", body, url)


async def _check_in(db: AsyncSession, t: Tenant) -> Prepared:
    ticket = await travelling(db, t)
    url = f"/api/v1/tickets/{ticket.id}/visits"
    return Prepared("POST", url, lambda v: {"visit_id": str(uuid7()), "device_time": v}, url)


async def _check_out(db: AsyncSession, t: Tenant) -> Prepared:
    ticket, visit = await on_site(db, t)
    url = f"/api/v1/tickets/{ticket.id}/visits"
    return Prepared("POST", f"{url}/{visit.id}/check-out", lambda v: {"device_time": v}, url)


async def _note(db: AsyncSession, t: Tenant) -> Prepared:
    ticket, _ = await on_site(db, t)
    url = f"/api/v1/tickets/{ticket.id}/notes"
    return Prepared(
        "POST", url, lambda v: {"note_id": str(uuid7()), "text": "x", "device_time": v}, url
    )


async def _answer(db: AsyncSession, t: Tenant) -> Prepared:
    ticket, visit = await on_site(db, t)
    template = await checklists.create_template(
        db,
        t.actor("admin"),
        data=TemplateCreate(name="Safety", items=[ItemIn(kind="yes_no", label="Isolated")]),
    )
    await db.flush()
    item = template.items[0].id

    def body(value: str) -> dict[str, Any]:
        return {
            "answer_id": str(uuid7()),
            "visit_id": str(visit.id),
            "item_id": str(item),
            "value": True,
            "device_time": value,
        }

    url = f"/api/v1/tickets/{ticket.id}/checklist/answers"
    return Prepared("POST", url, body, url)


async def _photo(db: AsyncSession, t: Tenant) -> Prepared:
    ticket, _ = await on_site(db, t)
    data = png()

    def body(value: str) -> dict[str, Any]:
        return {
            "id": str(uuid7()),
            "sha256": sha(data),
            "size": len(data),
            "mime": "image/png",
            "role": "photo",
            "captured_at": value,
        }

    url = f"/api/v1/tickets/{ticket.id}/attachments"
    return Prepared("POST", url, body, url)


async def _signature(db: AsyncSession, t: Tenant) -> Prepared:
    ticket, _ = await on_site(db, t)
    data = png(300, 120, (255, 255, 255))

    def body(value: str) -> dict[str, Any]:
        return {
            "id": str(uuid7()),
            "attachment_id": str(uuid7()),
            "sha256": sha(data),
            "size": len(data),
            "signer_name": "Li Na",
            "strokes": [[[0, 0], [10, 10]]],
            "signed_status": "on_site",
            "device_time": value,
        }

    url = f"/api/v1/tickets/{ticket.id}/signatures"
    return Prepared("POST", url, body, url)


async def _ticket(db: AsyncSession, t: Tenant, key: str) -> Prepared:
    assert t.customer

    def body(value: str) -> dict[str, Any]:
        window = {"window_start": None, "window_end": None, key: value}
        return {"customer_id": str(t.customer.id), "title": "Chiller trips", **window}  # type: ignore[union-attr]

    return Prepared("POST", "/api/v1/tickets", body, "/api/v1/tickets")


async def _ticket_patch(db: AsyncSession, t: Tenant, key: str) -> Prepared:
    ticket, _ = await on_site(db, t)
    url = f"/api/v1/tickets/{ticket.id}"
    return Prepared("PATCH", url, lambda v: {key: v}, url)


BODIES = {
    "labour started_at": Body("started_at", lambda db, t: _labour(db, t, "started_at")),
    "labour ended_at": Body("ended_at", lambda db, t: _labour(db, t, "ended_at")),
    "adjust started_at": Body("started_at", lambda db, t: _adjust(db, t, "started_at")),
    "adjust ended_at": Body("ended_at", lambda db, t: _adjust(db, t, "ended_at")),
    "check-in device_time": Body("device_time", _check_in),
    "check-out device_time": Body("device_time", _check_out),
    "note device_time": Body("device_time", _note),
    "checklist answer device_time": Body("device_time", _answer),
    "photo captured_at": Body("captured_at", _photo),
    "signature device_time": Body("device_time", _signature),
    "work order window_start": Body(
        "window_start", lambda db, t: _ticket(db, t, "window_start"), "dispatcher"
    ),
    "work order window_end": Body(
        "window_end", lambda db, t: _ticket(db, t, "window_end"), "dispatcher"
    ),
    "work order PATCH window_start": Body(
        "window_start", lambda db, t: _ticket_patch(db, t, "window_start"), "dispatcher"
    ),
    "work order PATCH window_end": Body(
        "window_end", lambda db, t: _ticket_patch(db, t, "window_end"), "dispatcher"
    ),
}


@pytest.mark.parametrize("case", BODIES.values(), ids=BODIES.keys())
async def test_a_body_instant_outside_the_rule_is_a_422_naming_it(
    client: httpx.AsyncClient, db: AsyncSession, case: Body
) -> None:
    t = await make_tenant(db)
    it = await case.prepare(db, t)
    headers = t.headers(case.who)
    if it.method == "PATCH":
        read = await client.get(it.url, headers=headers)
        headers["If-Match"] = read.headers["ETag"]
    before = await _stored(client, t, it.stored)
    for value in BAD.values():
        response = await client.request(it.method, it.url, json=it.body(value), headers=headers)
        assert_refused(response, case.field, value)
    assert await _stored(client, t, it.stored) == before  # nothing half-written
    for value in [GOOD, *EDGES]:
        response = await client.request(it.method, it.url, json=it.body(value), headers=headers)
        # Accepted, or refused for another reason (an entry of no length...), not the time.
        detail = "" if response.status_code < 300 else response.json()["detail"]
        assert times.RANGE not in detail and "UTC offset" not in detail, (value, detail)
        if "ETag" in response.headers:
            headers["If-Match"] = response.headers["ETag"]


async def _stored(client: httpx.AsyncClient, t: Tenant, url: str) -> Any:
    response = await client.get(url, headers=t.headers("dispatcher"))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_window_with_a_naive_and_an_aware_end_is_a_422_not_a_dropped_connection(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Comparing the two ends raised TypeError inside the validator: a 500 without a request
    id and a dropped connection."""
    t = await make_tenant(db)
    assert t.customer
    ticket, _ = await on_site(db, t)
    headers = t.headers("dispatcher")
    mixed = {"window_start": "2026-11-24T09:00:00", "window_end": "2026-11-24T11:00:00Z"}
    created = await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "title": "x", **mixed},
        headers=headers,
    )
    assert_refused(created, "window_start", mixed["window_start"])
    url = f"/api/v1/tickets/{ticket.id}"
    etag = (await client.get(url, headers=headers)).headers["ETag"]
    patched = await client.patch(url, json=mixed, headers={**headers, "If-Match": etag})
    assert_refused(patched, "window_start", mixed["window_start"])


async def test_a_patch_checks_the_window_it_leaves_behind(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """One end sent, the other stored: the window must still end after it starts."""
    t = await make_tenant(db)
    start = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
    ticket, _ = await on_site(db, t, window_start=start, window_end=start + dt.timedelta(hours=2))
    url, headers = f"/api/v1/tickets/{ticket.id}", t.headers("dispatcher")
    headers["If-Match"] = (await client.get(url, headers=headers)).headers["ETag"]
    late = {"window_start": "2026-11-24T12:00:00Z"}
    response = await client.patch(url, json=late, headers=headers)
    assert response.status_code == 422 and response.json()["field"] == "window_end"
    both = {**late, "window_end": "2026-11-24T14:00:00+00:00"}
    response = await client.patch(url, json=both, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["window_start"] == "2026-11-24T12:00:00Z"


# --- query parameters ------------------------------------------------------------------------

QUERIES = {
    "tickets created_from": ("/api/v1/tickets", "created_from", {}),
    "tickets created_to": ("/api/v1/tickets", "created_to", {}),
    "tickets due_from": ("/api/v1/tickets", "due_from", {}),
    "tickets due_to": ("/api/v1/tickets", "due_to", {}),
    "consumption from": ("/api/v1/stock-reports/consumption", "from", {"to": GOOD}),
    "consumption to": (
        "/api/v1/stock-reports/consumption",
        "to",
        {"from": "2026-01-01T00:00:00Z"},
    ),
    "turnover from": ("/api/v1/stock-reports/turnover", "from", {"to": GOOD}),
    "turnover to": ("/api/v1/stock-reports/turnover", "to", {"from": "2026-01-01T00:00:00Z"}),
    "rejected mutations since": ("/api/v1/sync/rejected", "since", {}),
}


@pytest.mark.parametrize(("url", "name", "rest"), QUERIES.values(), ids=QUERIES.keys())
async def test_a_query_instant_outside_the_rule_is_a_422_naming_it(
    client: httpx.AsyncClient, db: AsyncSession, url: str, name: str, rest: dict[str, str]
) -> None:
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    for value in BAD.values():
        response = await client.get(url, params={**rest, name: value}, headers=headers)
        assert_refused(response, name, value)
    for value in ["2026-06-01T00:00:00+08:00", "2026-06-02T00:00:00-05:00"]:
        response = await client.get(url, params={**rest, name: value}, headers=headers)
        assert response.status_code == 200, (value, response.text)


DAYS = {
    "labour totals": ("/api/v1/engineers/{engineer}/labour-totals", {}),
    "pick list": ("/api/v1/pick-lists", {"engineer_id": "{engineer}"}),
}


@pytest.mark.parametrize(("url", "rest"), DAYS.values(), ids=DAYS.keys())
async def test_a_day_outside_the_instants_years_is_a_422(
    client: httpx.AsyncClient, db: AsyncSession, url: str, rest: dict[str, str]
) -> None:
    """The day is turned into the instants of its start and end in the organisation's
    zone: at 9999-12-31 the day after does not exist (a 500 for the pick list)."""
    t = await make_tenant(db)
    t.org.timezone = "Pacific/Kiritimati"  # +14:00
    await db.flush()
    engineer = str(t.engineers[0].id)
    url = url.format(engineer=engineer)
    params = {k: v.format(engineer=engineer) for k, v in rest.items()}
    for day in BAD_DAYS:
        response = await client.get(url, params={**params, "date": day}, headers=t.headers("admin"))
        assert_refused(response, "date", day)
    for day in GOOD_DAYS:
        response = await client.get(url, params={**params, "date": day}, headers=t.headers("admin"))
        assert response.status_code == 200, (day, response.text)


async def test_responses_carry_the_offset_and_keep_their_format(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Stored instants come back in UTC with Z, whatever offset they were sent with."""
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    entry = {
        "entry_id": str(uuid7()),
        "kind": "work",
        "started_at": "2026-11-24T09:00:00+08:00",
        "ended_at": "2026-11-24T10:30:00+08:00",
    }
    created = await client.post(
        f"/api/v1/tickets/{ticket.id}/labour", json=entry, headers=t.headers("engineer1")
    )
    assert created.status_code == 201, created.text
    assert (created.json()["started_at"], created.json()["ended_at"]) == (
        "2026-11-24T01:00:00Z",
        "2026-11-24T02:30:00Z",
    )
    assert created.json()["received_at"].endswith("Z")
    # A range the caller sent is echoed as sent, offset included.
    span = {"from": "2026-11-01T00:00:00+08:00", "to": "2026-11-30T00:00:00-05:00"}
    turnover = await client.get(
        "/api/v1/stock-reports/turnover", params=span, headers=t.headers("dispatcher")
    )
    assert turnover.status_code == 200, turnover.text
    assert (turnover.json()["start"], turnover.json()["end"]) == (span["from"], span["to"])


def test_every_instant_the_api_accepts_is_an_instant() -> None:
    """A new endpoint with a plain datetime (or AwareDatetime) field or parameter would
    bypass the rule: every date-time in a request of the OpenAPI document carries the
    Instant type's bounds, and every date a caller asks a day about the Day type's."""
    from server.config import get_settings
    from server.main import create_app

    spec = create_app(get_settings()).openapi()
    found = _request_times(spec)
    assert len(found) > 25
    for where, schema in found:
        if schema["format"] == "date-time":
            assert schema.get("x-earliest") == "1970-01-01T00:00:00Z", where
            assert schema.get("x-before") == "2200-01-01T00:00:00Z", where
        elif where.endswith("?date"):
            assert schema.get("x-earliest") == str(times.EARLIEST_DAY), where


def _request_times(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    components = spec["components"]["schemas"]
    out: list[tuple[str, dict[str, Any]]] = []

    def walk(schema: Any, where: str, seen: frozenset[str]) -> None:
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], where, seen | {name})
            return
        if schema.get("format") in ("date-time", "date"):
            out.append((where, schema))
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                walk(option, where, seen)
        for key, prop in schema.get("properties", {}).items():
            walk(prop, f"{where}.{key}", seen)
        walk(schema.get("items"), f"{where}[]", seen)

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                walk(parameter.get("schema"), f"{method} {path} ?{parameter['name']}", frozenset())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema"), f"{method} {path} body", frozenset())
    return out
