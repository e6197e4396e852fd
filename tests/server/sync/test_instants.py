"""The phone's instants follow the API's rule (shared/times.py): a mutation whose time breaks
it (labour's start or end, a photo's capture time, the mutation's own device time) is stored
rejected naming the field, the queue moves on, and nothing of it is written. ``sent_at`` is
checked the same way, except that a clock outside the bounds only loses the skew estimate:
a broken clock must not block the queue."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments.models import Attachment
from server.field.models import LabourEntry, Visit, VisitCheck
from tests.fixtures.attachments import png, sha
from tests.fixtures.factories import make_tenant
from tests.server.field.helpers import on_site, travelling
from tests.server.sync.helpers import SYNC, new_id, registered_phone
from tests.server.test_instants import BAD

GOOD = "2026-11-24T09:00:00+08:00"


async def _labour_rows(db: AsyncSession, ticket_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(LabourEntry).where(LabourEntry.ticket_id == ticket_id)
    return int(await db.scalar(query) or 0)


@pytest.mark.parametrize("key", ["started_at", "ended_at"])
async def test_labour_with_a_time_outside_the_rule_is_rejected_naming_it(
    client: httpx.AsyncClient, db: AsyncSession, key: str
) -> None:
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    wo = str(ticket.id)
    times = {"started_at": GOOD, "ended_at": "2026-11-24T10:00:00+08:00"}
    bad = [
        phone.mutation(
            "labour.add",
            work_order_id=wo,
            entry_id=new_id(),
            kind="work",
            **{
                **times,
                key: value,
            },
        )
        for value in BAD.values()
    ]
    good = phone.mutation("labour.add", work_order_id=wo, entry_id=new_id(), kind="work", **times)
    response = await phone.push(*bad, good)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected"] * len(bad) + ["applied"]
    for i, result in enumerate(results[:-1]):
        assert result["error"]["field"] == f"mutations[{i}].args.{key}", result
    assert await _labour_rows(db, ticket.id) == 1


async def test_a_photo_captured_outside_the_rule_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    data = png()
    register = {"work_order_id": str(ticket.id), "sha256": sha(data), "size": len(data)}
    register |= {"mime": "image/png", "role": "photo"}
    bad = [
        phone.mutation("attachment.register", attachment_id=new_id(), captured_at=value, **register)
        for value in BAD.values()
    ]
    response = await phone.push(*bad)
    results = response.json()["results"]
    assert {r["outcome"] for r in results} == {"rejected"}, results
    assert all(r["error"]["field"].endswith("args.captured_at") for r in results)
    query = select(func.count()).select_from(Attachment)
    assert await db.scalar(query.where(Attachment.work_order_id == ticket.id)) == 0


async def test_a_device_time_outside_the_rule_rejects_its_mutation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The check-in's device time is the mutation's own: year 1 used to be stored as
    -infinity, and the visit list answered 500 from then on."""
    t = await make_tenant(db)
    ticket = await travelling(db, t)
    phone = await registered_phone(client, t)
    wo = str(ticket.id)
    bad: list[dict[str, Any]] = []
    for value in BAD.values():
        mutation = phone.mutation("visit.check_in", work_order_id=wo, visit_id=new_id())
        bad.append({**mutation, "device_time": value})
    good = phone.mutation("visit.check_in", work_order_id=wo, visit_id=new_id())
    response = await phone.push(*bad, good)
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected"] * len(bad) + ["applied"]
    assert results[0]["error"]["field"] == "mutations[0].device_time"
    checks = (
        select(func.count()).select_from(VisitCheck).join(Visit, Visit.id == VisitCheck.visit_id)
    )
    assert await db.scalar(checks.where(Visit.ticket_id == ticket.id)) == 1


async def test_sent_at_must_be_an_instant_but_a_broken_clock_does_not_block_the_queue(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket, _ = await on_site(db, t)
    phone = await registered_phone(client, t)
    first = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="x")
    body = {"client_id": phone.client_id, "mutations": [first]}
    naive = await client.post(
        f"{SYNC}/push", json={**body, "sent_at": "2026-11-24T09:00:00"}, headers=phone.headers
    )
    assert naive.status_code == 422 and naive.json()["field"] == "sent_at"
    assert "offset" in naive.json()["detail"]
    phone.seq = 0  # the refused push stored nothing: its seq is free again
    for broken in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "2500-01-01T00:00:00Z"):
        note = phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="x")
        pushed = {"client_id": phone.client_id, "mutations": [note], "sent_at": broken}
        response = await client.post(f"{SYNC}/push", json=pushed, headers=phone.headers)
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["outcome"] == "applied"
