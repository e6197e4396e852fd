"""Labour: append-only entries, corrections as new records, approval, and totals."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.field import service as field
from shared.ids import uuid7
from tests.fixtures.factories import make_tenant
from tests.server.field.helpers import get, on_site, post, travelling

DAY = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def _labour(ticket_id: uuid.UUID) -> str:
    return f"/api/v1/tickets/{ticket_id}/labour"


def _entry(kind: str, start_h: float, hours: float, **extra: Any) -> dict[str, Any]:
    start = DAY + dt.timedelta(hours=start_h)
    return {
        "entry_id": str(uuid7()),
        "kind": kind,
        "started_at": start.isoformat(),
        "ended_at": (start + dt.timedelta(hours=hours)).isoformat(),
        **extra,
    }


async def test_an_entry_is_created_once_per_id(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket, visit = await on_site(db, t)
    body = _entry("work", 0, 1.5, visit_id=str(visit.id), note="Replaced relay")
    first = await post(client, t, "engineer1", _labour(ticket.id), body)
    assert first.status_code == 201, first.text
    entry = first.json()
    assert entry["seconds"] == 5400 and entry["state"] == "active"
    assert entry["engineer_id"] == str(t.engineers[0].id) and entry["visit_id"] == str(visit.id)
    again = await post(client, t, "engineer1", _labour(ticket.id), body)
    assert again.status_code == 201 and again.json() == entry
    longer = {**body, "ended_at": (DAY + dt.timedelta(hours=2)).isoformat()}
    clash = await post(client, t, "engineer1", _labour(ticket.id), longer)
    assert clash.status_code == 409 and clash.json()["code"] == "client_id_reused"
    assert clash.json()["fields"] == ["ended_at"]
    sheet = await get(client, t, "dispatcher", _labour(ticket.id))
    assert len(sheet["entries"]) == 1
    assert sheet["totals"]["by_kind"] == {"travel": 0, "work": 5400, "break": 0}


async def test_entries_are_checked(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    _, foreign_visit = await on_site(db, t)
    backwards = {**_entry("work", 2, 1), "ended_at": DAY.isoformat()}
    cases = [
        (backwards, "ended_at"),
        (_entry("work", 0, 25), "ended_at"),
        (_entry("travel", 0, 1, visit_id=str(foreign_visit.id)), "visit_id"),
        (_entry("travel", 0, 1, engineer_id=str(t.engineers[1].id)), "engineer_id"),
    ]
    for body, field_name in cases:
        response = await post(client, t, "engineer1", _labour(ticket.id), body)
        assert response.status_code in (403, 422), response.text
        assert response.json()["field"] == field_name
    naive = {**_entry("work", 0, 1), "started_at": "2026-11-24T09:00:00"}
    response = await post(client, t, "engineer1", _labour(ticket.id), naive)
    assert response.status_code == 422
    assert (await get(client, t, "engineer1", _labour(ticket.id)))["entries"] == []


async def test_void_and_adjust_are_new_records_and_totals_follow(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    url = _labour(ticket.id)
    travel = (await post(client, t, "engineer1", url, _entry("travel", 0, 1))).json()
    work = (await post(client, t, "engineer1", url, _entry("work", 1, 2))).json()
    rest = (await post(client, t, "engineer1", url, _entry("break", 3, 0.5))).json()
    void = {"void_id": str(uuid7()), "reason": "Logged twice"}
    voided = await post(client, t, "engineer1", f"{url}/{travel['id']}/void", void)
    assert voided.status_code == 201 and voided.json()["entry_id"] == travel["id"]
    replayed = await post(client, t, "engineer1", f"{url}/{travel['id']}/void", void)
    assert replayed.status_code == 201 and replayed.json() == voided.json()
    twice = {"void_id": str(uuid7()), "reason": "again"}
    refused = await post(client, t, "engineer1", f"{url}/{travel['id']}/void", twice)
    assert refused.status_code == 409 and refused.json()["code"] == "labour_not_active"
    fix = {
        "adjustment_id": str(uuid7()),
        "started_at": (DAY + dt.timedelta(hours=1)).isoformat(),
        "ended_at": (DAY + dt.timedelta(hours=2, minutes=30)).isoformat(),
        "reason": "Left earlier",
    }
    adjusted = await post(client, t, "engineer1", f"{url}/{work['id']}/adjust", fix)
    assert adjusted.status_code == 201, adjusted.text
    assert adjusted.json()["replaces_id"] == work["id"] and adjusted.json()["kind"] == "work"
    stale = await post(
        client, t, "engineer1", f"{url}/{work['id']}/adjust", {**fix, "adjustment_id": str(uuid7())}
    )
    assert stale.status_code == 409 and stale.json()["state"] == "replaced"
    sheet = await get(client, t, "engineer1", url)
    states = {e["id"]: e["state"] for e in sheet["entries"]}
    assert states == {
        travel["id"]: "voided",
        work["id"]: "replaced",
        rest["id"]: "active",
        adjusted.json()["id"]: "active",
    }
    assert sheet["totals"]["by_kind"] == {"travel": 0, "work": 5400, "break": 1800}
    assert sheet["totals"]["worked_seconds"] == 5400 and sheet["totals"]["entries"] == 2
    assert [v["reason"] for v in sheet["voids"]] == ["Logged twice"]


async def test_approval_is_the_back_offices_and_freezes_the_engineers_corrections(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    url = _labour(ticket.id)
    one = (await post(client, t, "engineer1", url, _entry("work", 0, 1))).json()
    two = (await post(client, t, "engineer1", url, _entry("work", 1, 1))).json()
    approvals = "/api/v1/labour/approvals"
    for who in ("engineer1", "agent", "viewer"):
        denied = await post(client, t, who, approvals, {"entry_ids": [one["id"]]})
        assert denied.status_code == 403
    approved = await post(client, t, "dispatcher", approvals, {"entry_ids": [one["id"]]})
    assert approved.status_code == 200, approved.text
    assert approved.json()[0]["approved_by"].startswith("user:dispatcher")
    whole = await post(client, t, "admin", approvals, {"ticket_id": str(ticket.id)})
    by_id = {e["id"]: e["approved_by"] for e in whole.json()}
    assert set(by_id) == {one["id"], two["id"]}
    assert by_id[one["id"]].startswith("user:dispatcher")  # approving again changes nothing
    void = {"void_id": str(uuid7()), "reason": "Wrong job"}
    frozen = await post(client, t, "engineer1", f"{url}/{one['id']}/void", void)
    assert frozen.status_code == 409 and frozen.json()["code"] == "labour_approved"
    by_office = await post(client, t, "dispatcher", f"{url}/{one['id']}/void", void)
    assert by_office.status_code == 201
    again = await post(client, t, "dispatcher", approvals, {"entry_ids": [one["id"]]})
    assert again.status_code == 409 and again.json()["code"] == "labour_not_active"
    sheet = await get(client, t, "dispatcher", url)
    assert sheet["totals"]["entries"] == 1 and sheet["totals"]["unapproved"] == 0
    neither = await post(client, t, "dispatcher", approvals, {})
    assert neither.status_code == 422


async def test_engineers_correct_only_their_own_entries(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    entry = await field.add_labour(
        db,
        t.actor("dispatcher"),
        ticket_id=ticket.id,
        entry_id=uuid7(),
        kind="work",
        started_at=DAY,
        ended_at=DAY + dt.timedelta(hours=1),
        engineer_id=t.engineers[1].id,  # engineer2 helped on engineer1's job
    )
    void = {"void_id": str(uuid7()), "reason": "not mine"}
    response = await post(client, t, "engineer1", f"{_labour(ticket.id)}/{entry.id}/void", void)
    assert response.status_code == 403
    hidden = await post(client, t, "engineer2", f"{_labour(ticket.id)}/{entry.id}/void", void)
    assert hidden.status_code == 404  # not engineer2's work order


async def test_day_totals_in_the_organisation_time_zone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    t.org.timezone = "Asia/Shanghai"  # UTC+8: the local day 2026-11-24 is 16:00Z..16:00Z
    ticket = await travelling(db, t)
    other = await travelling(db, t)
    engineer = t.actor("engineer1")

    async def add(ticket_id: uuid.UUID, kind: str, start: str, end: str) -> uuid.UUID:
        entry = await field.add_labour(
            db,
            engineer,
            ticket_id=ticket_id,
            entry_id=uuid7(),
            kind=kind,
            started_at=start,
            ended_at=end,
        )
        return entry.id

    await add(ticket.id, "travel", "2026-11-24T08:00:00+08:00", "2026-11-24T09:00:00+08:00")
    await add(ticket.id, "work", "2026-11-24T09:00:00+08:00", "2026-11-24T11:00:00+08:00")
    await add(other.id, "break", "2026-11-24T12:00:00+08:00", "2026-11-24T12:30:00+08:00")
    # Night shift: 23:00 to 01:00 local counts one hour on each day.
    await add(other.id, "work", "2026-11-24T15:00:00Z", "2026-11-24T17:00:00Z")
    voided = await add(other.id, "work", "2026-11-24T13:00:00+08:00", "2026-11-24T14:00:00+08:00")
    await field.void_labour(db, engineer, entry_id=voided, void_id=uuid7(), reason="dup")
    await add(ticket.id, "work", "2026-11-23T10:00:00+08:00", "2026-11-23T11:00:00+08:00")
    await db.flush()
    url = f"/api/v1/engineers/{t.engineers[0].id}/labour-totals"
    day = await get(client, t, "dispatcher", f"{url}?date=2026-11-24")
    assert day["timezone"] == "Asia/Shanghai"
    assert day["by_kind"] == {"travel": 3600, "work": 7200 + 3600, "break": 1800}
    assert day["worked_seconds"] == 3600 + 10800 and day["entries"] == 4
    after = await get(client, t, "engineer1", f"{url}?date=2026-11-25")
    assert after["by_kind"]["work"] == 3600 and after["entries"] == 1
    colleague = await client.get(
        f"/api/v1/engineers/{t.engineers[1].id}/labour-totals?date=2026-11-24",
        headers=t.headers("engineer1"),
    )
    assert colleague.status_code == 404
