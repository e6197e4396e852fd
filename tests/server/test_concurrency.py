"""Optimistic concurrency on work orders: If-Match, 428/412, and real concurrent writers.

The concurrent tests hold the work order's row lock in a separate transaction, start both
requests, wait until PostgreSQL reports both blocked on that lock, then let go: the two
requests provably overlap instead of merely being fired close together.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.auth.models import Role
from server.tickets.models import Ticket, TicketEvent
from tests.fixtures.factories import Tenant, headers_for, make_tenant, make_ticket, make_user

TICKETS = "/api/v1/tickets"


async def _new_ticket(db: AsyncSession, t: Tenant, **fields: Any) -> Ticket:
    assert t.customer is not None
    return await make_ticket(db, t.actor("dispatcher"), t.customer, t.site, **fields)


def _if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"v{version}"'}


async def _blocked_behind(engine: AsyncEngine, pid: int) -> int:
    """How many sessions wait, directly or in the lock queue, on ``pid``'s locks."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database()"
                )
            )
        ).all()
    waiting: set[int] = set()
    grew = True
    while grew:
        grew = False
        for waiter, blockers in rows:
            if waiter not in waiting and ({pid} | waiting) & set(blockers):
                waiting.add(waiter)
                grew = True
    return len(waiting)


async def _race(
    engine: AsyncEngine, ticket_id: uuid.UUID, requests: list[Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """Run ``requests`` so that all of them wait on the work order's row lock at once."""
    async with engine.connect() as blocker:
        await blocker.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())
        pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
        tasks = [asyncio.ensure_future(r) for r in requests]
        try:
            for _ in range(200):
                if await _blocked_behind(engine, pid) >= len(tasks):
                    break
                if any(task.done() for task in tasks):
                    break
                await asyncio.sleep(0.02)
            overlapped = await _blocked_behind(engine, pid) >= len(tasks)
        finally:
            await blocker.rollback()
        responses = await asyncio.gather(*tasks)
    assert overlapped, [(r.status_code, r.text) for r in responses]
    return list(responses)


async def test_patch_without_if_match_needs_a_precondition(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await _new_ticket(db, t)
    response = await client.patch(
        f"{TICKETS}/{ticket.id}", json={"title": "New title"}, headers=t.headers("dispatcher")
    )
    assert response.status_code == 428, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "precondition_required"
    after = (await client.get(f"{TICKETS}/{ticket.id}", headers=t.headers("dispatcher"))).json()
    assert (after["title"], after["version"]) == ("Compressor noise", 1)


async def test_patch_with_malformed_if_match_is_a_bad_request(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await _new_ticket(db, t)
    for value in ("v1", '"1"', '"v1" junk', 'W/"v1" "v1"'):
        response = await client.patch(
            f"{TICKETS}/{ticket.id}",
            json={"title": "New title"},
            headers={**t.headers("dispatcher"), "If-Match": value},
        )
        assert response.status_code == 400, (value, response.text)
        assert response.json()["code"] == "bad_request"


async def test_patch_with_stale_version_fails_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await _new_ticket(db, t)
    url = f"{TICKETS}/{ticket.id}"
    headers = t.headers("dispatcher")
    first = await client.patch(url, json={"title": "First"}, headers={**headers, **_if_match(1)})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"v2"'
    events_before = (await client.get(f"{url}/events", headers=headers)).json()

    stale = await client.patch(
        url, json={"title": "Second", "priority": "P1"}, headers={**headers, **_if_match(1)}
    )
    assert stale.status_code == 412, stale.text
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["code"] == "precondition_failed"
    assert stale.json()["current_version"] == 2

    after = await client.get(url, headers=headers)
    assert after.headers["etag"] == '"v2"'
    assert (after.json()["title"], after.json()["priority"]) == ("First", "P3")
    assert (await client.get(f"{url}/events", headers=headers)).json() == events_before


async def test_concurrent_patches_with_same_version_one_wins(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(committing_db, "Concurrent patch")
    ticket = await _new_ticket(committing_db, t)
    await committing_db.commit()
    url = f"{TICKETS}/{ticket.id}"

    responses = await _race(
        engine,
        ticket.id,
        [
            committing_client.patch(
                url, json={"title": title}, headers={**t.headers(who), **_if_match(1)}
            )
            for who, title in (("dispatcher", "From dispatcher"), ("agent", "From agent"))
        ],
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412], [(r.status_code, r.text) for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    loser = next(r for r in responses if r.status_code == 412).json()
    assert loser["code"] == "precondition_failed"
    assert loser["current_version"] == 2
    stored = await committing_db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert stored is not None
    assert (stored.title, stored.version) == (winner["title"], 2)
    updates = await committing_db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "updated")
    )
    assert updates == 1


async def test_two_dispatchers_assigning_same_ticket_one_wins(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(committing_db, "Concurrent assign")
    second_dispatcher = await make_user(committing_db, t.org, Role.DISPATCHER)
    ticket = await _new_ticket(committing_db, t)
    await committing_db.commit()
    url = f"{TICKETS}/{ticket.id}/transitions"
    callers = (t.headers("dispatcher"), headers_for(second_dispatcher))

    responses = await _race(
        engine,
        ticket.id,
        [
            committing_client.post(
                url,
                json={"action": "assign", "engineer_id": str(engineer.id)},
                headers={**headers, **_if_match(1)},
            )
            for headers, engineer in zip(callers, t.engineers, strict=True)
        ],
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412], [(r.status_code, r.text) for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["status"] == "assigned"
    stored = await committing_db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert stored is not None
    assert str(stored.assignee_id) == winner["assignee_id"]
    assert stored.version == 2
    assigns = await committing_db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "assign")
    )
    assert assigns == 1


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    """Each passed "you cannot demote yourself" with the other read as an admin before
    either committed: both demotions went through and nobody could manage users or API
    keys any more. Both requests are held on the two admins' rows, then let go."""
    from server.auth.models import User

    t = await make_tenant(committing_db, "Concurrent demotion")
    second = await make_user(committing_db, t.org, Role.ADMIN)
    one, two = sorted([t.users["admin"], second], key=lambda u: u.id)
    ids = [one.id, two.id]
    headers = {one.id: headers_for(one), two.id: headers_for(two)}
    await committing_db.commit()
    async with engine.connect() as blocker:
        await blocker.execute(select(User.id).where(User.id.in_(ids)).with_for_update())
        pid = int(await blocker.scalar(text("SELECT pg_backend_pid()")) or 0)
        requests = [
            committing_client.patch(
                f"/api/v1/users/{them}",
                json={"role": "viewer"},
                headers={**headers[me], "If-Match": '"v1"'},
            )
            for me, them in ((ids[0], ids[1]), (ids[1], ids[0]))
        ]
        tasks = [asyncio.ensure_future(r) for r in requests]
        for _ in range(200):
            if await _blocked_behind(engine, pid) >= 2 or any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.02)
        overlapped = await _blocked_behind(engine, pid) >= 2
        await blocker.rollback()
        responses = await asyncio.gather(*tasks)
    assert overlapped, [(r.status_code, r.text) for r in responses]
    assert sorted(r.status_code for r in responses) == [200, 403], [r.text for r in responses]
    committing_db.expire_all()
    roles = await committing_db.scalars(select(User.role).where(User.id.in_(ids), User.is_active))
    assert sorted(roles) == ["admin", "viewer"]
