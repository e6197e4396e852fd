"""Found by the sync chaos run: two engineers' pushes deadlocked on defective returns.

A defective return (``part.return`` with ``condition: defective``, server/field/parts_used.py
-> server/parts/service.py ``create_movement``) first moves the unit into the
organisation's one quarantine location (``ledger.record``: the row of ``stock_balances``
for (quarantine, part) stays locked until commit), then opens its RMA
(``returns.open_for_lines`` -> ``_next_number``: ``pg_advisory_xact_lock('part_returns:' ||
org)``, also held until commit). One REST request is one return, so the order is harmless
there; a sync push applies up to 100 mutations in one transaction, so two pushes that each
carry defective returns of two parts take (row P1, lock) and (row P2, then wait for the
lock), and the first then needs row P2: PostgreSQL aborts one of them (40P01), the push
answers 503 and the phone retries. Nothing is lost (the chaos test proves that), but every
such collision costs a deadlock_timeout and a retry, and an RMA lock held for a whole push
makes the other engineers' returns wait (55P03 past FIXFLOW_SYNC_LOCK_TIMEOUT_MS).

Fixed: ``create_movement`` takes the returns lock before the balance rows when the movement
will open a return, which removes the cycle; this test guards it.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.auth.actor import Actor
from server.auth.models import Role
from server.db import async_url
from server.field import service as field
from server.parts import service as parts
from server.parts.locations import ensure_quarantine
from shared.ids import uuid7
from tests.fixtures import factories as f
from tests.fixtures.fast_paths import switch


async def _setup(db: AsyncSession) -> tuple[list[Actor], list[uuid.UUID], list[uuid.UUID]]:
    org = await f.make_org(db, "Returns")
    admin = f.actor_for(await f.make_user(db, org, Role.ADMIN))
    dispatcher = f.actor_for(await f.make_user(db, org, Role.DISPATCHER))
    part_ids = [(await f.make_part(db, admin)).id for _ in range(2)]
    actors, tickets = [], []
    for _ in range(2):
        user, engineer = await f.make_engineer(db, org)
        customer, site, asset = await f.make_customer(db, org)
        ticket = await f.make_ticket(db, dispatcher, customer, site, asset, assign_to=engineer)
        await parts.ensure_van(db, engineer)
        actors.append(f.actor_for(user, engineer))
        tickets.append(ticket.id)
    await ensure_quarantine(db, org.id)  # as after the organisation's first defective return
    await db.commit()
    return actors, tickets, part_ids


async def _return(db: AsyncSession, actor: Actor, ticket: uuid.UUID, part: uuid.UUID) -> None:
    await field.return_part(
        db,
        actor,
        ticket_id=ticket,
        line_id=uuid7(),
        part_id=part,
        quantity="1",
        condition="defective",
    )


@pytest.mark.parametrize("fast", [True, False], ids=["fast_paths", "orm_paths"])
async def test_two_pushes_with_defective_returns_do_not_deadlock(
    chaos_db: str, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    """Whichever way the movements are written (server/fastpaths.py): the ORM look-up of
    the part once took a stronger lock than the fast statement's and deadlocked here."""
    switch(monkeypatch, fast)
    engine = create_async_engine(async_url(chaos_db))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as setup:
            (one, two), (wo1, wo2), (p1, p2) = await _setup(setup)
        async with (
            AsyncSession(engine, expire_on_commit=False) as a,
            AsyncSession(engine, expire_on_commit=False) as b,
        ):
            await _return(a, one, wo1, p1)  # push A, mutation 1
            second = asyncio.create_task(_return(b, two, wo2, p2))  # push B, mutation 1
            await asyncio.sleep(0.5)
            assert not second.done()  # B waits for A (the returns lock)
            await _return(a, one, wo1, p2)  # push A, mutation 2: needs what B holds
            await a.commit()
            await second  # raises 40P01 today: B was chosen as the deadlock victim
            await b.commit()
    finally:
        await engine.dispose()
