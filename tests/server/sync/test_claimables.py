"""The claim pool on the phone (``claimable``): the open work orders the engineer qualifies
for, with what the phone needs to decide and nothing else; a job that leaves the pool
(claimed by a colleague, closed for claim, cancelled, no longer for them) is removed on the
next pull with a reason that never names anyone. And a plan's slot reaches the assignee."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.dispatch.models import Decline
from server.sync.claimables import FIELDS
from server.tickets import service as tickets
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.lifecycle import Action
from tests.fixtures.factories import Tenant, make_tenant, make_ticket
from tests.server.sync.helpers import Phone, assigned, changes_of

EVERY_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def _open(db: AsyncSession, t: Tenant, **fields: Any) -> Ticket:
    """A new work order open for claim (as the office opens one)."""
    assert t.customer and t.site
    opened = fields.pop("open_for_claim", True)
    # "name:level" is dispatch's form (server/dispatch/snapshot.py), set on the row.
    skills = fields.pop("required_skills", [])
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, **fields)
    ticket.open_for_claim, ticket.required_skills = opened, skills
    await db.flush()
    return ticket


async def _tenant(db: AsyncSession, name: str = "Pool") -> Tenant:
    t = await make_tenant(db, name)
    for engineer in t.engineers:
        engineer.working_hours = EVERY_DAY
    await db.flush()
    return t


async def _phone(client: httpx.AsyncClient, engine: AsyncEngine, t: Tenant, who: str) -> Phone:
    phone = Phone(client, t.headers(who), engine=engine)
    await phone.register()
    await phone.sync()
    return phone


def _removals(pages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        c["id"]: c["data"]
        for c in changes_of(pages)
        if c["op"] == "remove" and c["entity"] == "claimable"
    }


async def test_the_pool_holds_only_open_jobs_the_engineer_qualifies_for(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await _tenant(db)
    other = await _tenant(db, "Other tenant")
    mine = await _open(db, t, required_skills=["hvac:2"], description="Noisy fan")
    too_hard = await _open(db, t, required_skills=["hvac:4"])
    other_skill = await _open(db, t, required_skills=["electrical"])
    await _open(db, t, open_for_claim=False)
    declined = await _open(db, t)
    db.add(Decline(org_id=t.org.id, ticket_id=declined.id, engineer_id=t.engineers[0].id))
    await _open(db, other)
    await db.flush()

    phone = await _phone(client, engine, t, "engineer1")
    assert phone.ids("claimable") == {str(mine.id)}
    row = phone.get("claimable", mine.id)
    assert row is not None
    assert set(row) == {"id", *FIELDS}
    assert row["number"].startswith("WO-") and row["title"] == mine.title
    assert row["customer_name"] == t.customer.name  # type: ignore[union-attr]
    assert row["required_skills"] == [{"name": "hvac", "level": 2}]
    assert row["description"] == "Noisy fan"
    assert "assignee_id" not in row and "created_by" not in row
    for job in (too_hard, other_skill):
        assert phone.get("claimable", job.id) is None

    # Without a shift on the job's day nobody qualifies.
    t.engineers[1].working_hours = {}
    await db.flush()
    off_duty = await _phone(client, engine, t, "engineer2")
    assert off_duty.ids("claimable") == set()


async def test_jobs_leave_the_pool_with_a_reason_that_names_nobody(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await _tenant(db)
    taken, closed, cancelled, kept = [await _open(db, t) for _ in range(4)]
    phone = await _phone(client, engine, t, "engineer1")
    assert phone.ids("claimable") == {str(j.id) for j in (taken, closed, cancelled, kept)}
    idle = await phone.sync()
    assert changes_of(idle) == []
    before = phone.cursor

    office = t.actor("dispatcher")
    await tickets.apply_transition(
        db,
        office,
        ticket_id=taken.id,
        data=TransitionIn(action=Action.ASSIGN, engineer_id=t.engineers[1].id),
    )
    closed.open_for_claim = False
    await tickets.apply_transition(
        db, office, ticket_id=cancelled.id, data=TransitionIn(action=Action.CANCEL, reason="dup")
    )
    await db.flush()
    pages = await phone.sync()
    removed = _removals(pages)
    assert {k: v["reason"] for k, v in removed.items()} == {
        str(taken.id): "claimed_by_other",
        str(closed.id): "closed_for_claim",
        str(cancelled.id): "cancelled",
    }
    assert removed[str(taken.id)]["number"].startswith("WO-")
    said = str(removed)
    for engineer in t.engineers:
        assert str(engineer.id) not in said and engineer.display_name not in said
    assert phone.ids("claimable") == {str(kept.id)}

    # The answer was lost: the same cursor again gives the same removals.
    phone.cursor = before
    again = await phone.sync()
    assert _removals(again) == removed


async def test_a_claim_by_the_engineer_leaves_the_pool_as_claimed_and_arrives_as_work(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await _tenant(db)
    job = await _open(db, t)
    phone = await _phone(client, engine, t, "engineer1")
    assert phone.ids("claimable") == {str(job.id)}
    await tickets.apply_transition(
        db,
        t.actor("dispatcher"),
        ticket_id=job.id,
        data=TransitionIn(action=Action.ASSIGN, engineer_id=t.engineers[0].id),
    )
    await db.flush()
    pages = await phone.sync()
    assert _removals(pages)[str(job.id)]["reason"] == "claimed"
    assert phone.get("work_order", job.id) is not None
    assert phone.ids("claimable") == set()


async def test_a_change_to_a_pool_job_or_to_the_engineer_is_sent_on_the_next_pull(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await _tenant(db)
    job = await _open(db, t)
    skilled = await _open(db, t, required_skills=["electrical:2"])
    phone = await _phone(client, engine, t, "engineer1")
    assert phone.ids("claimable") == {str(job.id)}

    job.title = "Compressor noise, now rattling"
    await db.flush()
    pages = await phone.sync()
    assert [(c["op"], c["id"]) for c in changes_of(pages)] == [("put", str(job.id))]
    assert phone.get("claimable", job.id)["title"] == "Compressor noise, now rattling"  # type: ignore[index]

    # The engineer is trained: the job they now qualify for arrives, though it did not change.
    t.engineers[0].skills = {"hvac": 3, "electrical": 2}
    await db.flush()
    await phone.sync()
    assert phone.ids("claimable") == {str(job.id), str(skilled.id)}

    # Leave: no shift any more on any day, so nothing is claimable for them.
    t.engineers[0].working_hours = {}
    await db.flush()
    pages = await phone.sync()
    assert {v["reason"] for v in _removals(pages).values()} == {"not_eligible"}
    assert phone.ids("claimable") == set()


async def test_a_window_on_a_day_off_is_not_claimable(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await _tenant(db)
    t.engineers[0].working_hours = {"mon": [["08:00", "17:00"]]}
    monday = dt.date(2030, 1, 7)
    on_monday = await _open(
        db,
        t,
        window_start=dt.datetime.combine(monday, dt.time(9), dt.UTC),
        window_end=dt.datetime.combine(monday, dt.time(11), dt.UTC),
    )
    await _open(
        db,
        t,
        window_start=dt.datetime.combine(monday + dt.timedelta(days=1), dt.time(9), dt.UTC),
        window_end=dt.datetime.combine(monday + dt.timedelta(days=1), dt.time(11), dt.UTC),
    )
    phone = await _phone(client, engine, t, "engineer1")
    assert phone.ids("claimable") == {str(on_monday.id)}


async def test_the_plan_slot_reaches_the_assignees_phone(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await _tenant(db)
    ticket = await assigned(db, t)
    phone = await _phone(client, engine, t, "engineer1")
    row = phone.get("work_order", ticket.id)
    assert row is not None and row["planned_start"] is None and row["pinned"] is False

    start = dt.datetime(2030, 1, 7, 10, 30, tzinfo=dt.UTC)
    ticket.planned_start, ticket.planned_end = start, start + dt.timedelta(hours=1)
    ticket.plan_position, ticket.pinned = 2, True
    await db.flush()
    pages = await phone.sync()
    assert [(c["op"], c["entity"]) for c in changes_of(pages)] == [("put", "work_order")]
    row = phone.get("work_order", ticket.id)
    assert row is not None
    assert row["planned_start"] == start.isoformat()
    assert row["planned_end"] == (start + dt.timedelta(hours=1)).isoformat()
    assert row["plan_position"] == 2 and row["pinned"] is True
