"""The hot paths under real concurrency (real commits): what a statement sees when it had
to wait for a lock. In PostgreSQL's READ COMMITTED a statement that waits for a row lock
re-reads that row as committed, but anything else it reads is as it was when the statement
began; the hot paths are written so that this never matters."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.config import Settings
from server.errors import NotFound
from server.field import service as field
from server.field.models import TicketNote, Visit
from server.sync import mutations
from server.tickets import service as tickets
from server.tickets.models import Ticket
from server.tickets.schemas import TransitionIn
from shared.ids import uuid7
from shared.lifecycle import Action
from tests.fixtures.factories import make_tenant, make_ticket
from tests.fixtures.fast_paths import switch
from tests.server.field.helpers import SITE, iso, now, on_site, travelling
from tests.server.sync.helpers import Phone, new_id
from tests.server.test_concurrency import _race


@pytest.fixture(autouse=True)
def _fast_paths_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the fast paths: on, whatever FIXFLOW_FAST_PATHS says. (The
    reassignment race is theirs alone: the ORM path of a new record reads the work order
    without the lock the fast statement takes, so a note written while the office
    reassigns is accepted there, and announced to the new engineer.)"""
    switch(monkeypatch, True)


async def test_two_check_ins_at_once_give_one_visit_and_visit_open(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    """The second check-in waited for the first one's lock on the work order: it must see
    the visit the first one committed (409 visit_open), not take visit number 1 again."""
    db = committing_db
    t = await make_tenant(db, "Check-in race")
    ticket = await travelling(db, t)
    await db.commit()
    url = f"/api/v1/tickets/{ticket.id}/visits"
    bodies = [{"visit_id": str(uuid7()), "device_time": iso(now()), "gps": SITE} for _ in "ab"]
    responses = await _race(
        engine,
        ticket.id,
        [committing_client.post(url, json=b, headers=t.headers("engineer1")) for b in bodies],
    )
    answers = sorted((r.status_code, r.json().get("code")) for r in responses)
    assert answers == [(201, None), (409, "visit_open")], [r.text for r in responses]
    count = await db.scalar(select(func.count()).where(Visit.ticket_id == ticket.id))
    assert count == 1


async def test_a_record_written_while_the_office_reassigns_is_refused(
    committing_db: AsyncSession, app: Any
) -> None:
    """The note waits for the office's lock on the work order; once the office commits the
    reassignment, the note's statement sees the new engineer: engineer1 gets 404 (the
    push would flag it as evidence after reassignment), and no feed row announces a note
    to an engineer who no longer holds the work order."""
    db = committing_db
    t = await make_tenant(db, "Reassignment race")
    assert t.customer and t.site
    ticket = await make_ticket(
        db, t.actor("dispatcher"), t.customer, t.site, t.asset, assign_to=t.engineers[0]
    )
    ticket_id = ticket.id
    await db.commit()
    note_id = uuid7()
    maker = app.state.sessionmaker
    async with maker() as office, maker() as phone:
        await tickets.apply_transition(
            office,
            t.actor("dispatcher"),
            ticket_id=ticket_id,
            data=TransitionIn(action=Action.ASSIGN, engineer_id=t.engineers[1].id),
        )
        await office.flush()  # holds the work order FOR UPDATE

        async def write() -> None:
            try:
                await field.add_note(
                    phone, t.actor("engineer1"), ticket_id=ticket_id, note_id=note_id, text="x"
                )
                await phone.commit()
            finally:
                await phone.rollback()

        task = asyncio.ensure_future(write())
        await asyncio.sleep(0.3)
        assert not task.done()  # waiting on the office's lock
        await office.commit()
        with pytest.raises(NotFound):
            await task
    assert await db.get(TicketNote, note_id) is None
    feed = await db.execute(
        text("SELECT count(*) FROM sync_changes WHERE entity = 'note' AND entity_id = :i"),
        {"i": str(note_id)},
    )
    assert feed.scalar_one() == 0


async def test_a_lock_wait_on_the_fast_path_stops_the_push_without_waiting_twice(
    committing_client: httpx.AsyncClient,
    committing_db: AsyncSession,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    settings: Settings,
) -> None:
    """A lock timeout on the fast path replays the push carefully up to the mutation that
    met it, and answers 503 from there: the mutations before it are applied, and the
    careful pass does not wait for the same lock again."""
    monkeypatch.setattr(settings, "SYNC_LOCK_TIMEOUT_MS", 300)
    db = committing_db
    t = await make_tenant(db, "Lock wait")
    ticket, visit = await on_site(db, t)
    other, _ = await on_site(db, t)
    await db.commit()
    phone = Phone(committing_client, t.headers("engineer1"))
    await phone.register()
    applied: list[str] = []
    apply = mutations.apply

    async def counting(*args: Any) -> Any:
        applied.append(args[2].name)
        return await apply(*args)

    monkeypatch.setattr(mutations, "apply", counting)
    async with engine.connect() as blocker:
        await blocker.execute(select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
        with caplog.at_level(logging.INFO, logger="fixflow.sync"):
            response = await phone.push(
                phone.mutation("note.add", work_order_id=str(other.id), note_id=new_id(), text="a"),
                phone.mutation("visit.check_out", visit_id=str(visit.id)),
                phone.mutation("note.add", work_order_id=str(other.id), note_id=new_id(), text="b"),
            )
        await blocker.rollback()
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"]
    body = response.json()
    assert body["last_seq"] == 1
    assert [r["outcome"] for r in body["results"]] == ["applied"]
    assert "55P03" in body["detail"]
    assert any("applied again" in r.getMessage() for r in caplog.records)
    # Fast pass: note, check-out (the lock wait); careful pass: the note only.
    assert applied == ["note.add", "visit.check_out", "note.add"]
    retry = await phone.push(
        {**phone.mutation("visit.check_out", visit_id=str(visit.id)), "seq": 2},
    )
    assert retry.status_code == 200, retry.text
