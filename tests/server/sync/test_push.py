"""Push: each mutation exactly once, in seq order, in the transaction of its effects; a
poison mutation never blocks the queue; gaps are refused; duplicates are answered from
what was stored."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.config import Settings, get_settings
from server.field.models import ChecklistItem, ChecklistTemplate, TicketNote
from server.sync.models import SyncClient, SyncMutation
from server.tickets.models import Ticket, TicketEvent
from tests.fixtures.factories import Tenant, make_customer, make_tenant, make_ticket
from tests.server.sync.helpers import SYNC, Phone, assigned, new_id, registered_phone
from tests.server.test_concurrency import _blocked_behind


async def _events(db: AsyncSession, ticket: Ticket, action: str) -> int:
    found = await db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == action)
    )
    return int(found or 0)


# --- registration ---------------------------------------------------------------------------


async def test_registering_twice_returns_the_same_installation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    phone = Phone(client, t.headers("engineer1"))
    first = await phone.register()
    again = await phone.register()
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"client_id": phone.client_id, "last_seq": 0}
    rows = await db.scalar(
        select(func.count()).select_from(SyncClient).where(SyncClient.org_id == t.org.id)
    )
    assert rows == 1


async def test_another_users_client_id_cannot_be_registered_or_used(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    other_org = await make_tenant(db, "Other")
    phone = await registered_phone(client, t)
    ticket = await assigned(db, t, engineer=2)
    for headers in (t.headers("engineer2"), other_org.headers("engineer1")):
        thief = Phone(client, headers, client_id=phone.client_id)
        taken = await client.post(
            f"{SYNC}/clients", json={"client_id": phone.client_id}, headers=headers
        )
        assert taken.status_code == 409, taken.text
        assert taken.json()["field"] == "client_id"
        pushed = await thief.push(thief.mutation("work_order.accept", work_order_id=str(ticket.id)))
        assert pushed.status_code == 404, pushed.text
        pulled = await client.get(
            f"{SYNC}/pull", params={"client_id": phone.client_id}, headers=headers
        )
        assert pulled.status_code == 404, pulled.text
    assert await _events(db, ticket, "accept") == 0


async def test_only_engineers_sync(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    for role in ("admin", "dispatcher", "agent", "viewer"):
        response = await client.post(
            f"{SYNC}/clients", json={"client_id": new_id()}, headers=t.headers(role)
        )
        assert response.status_code == 403, (role, response.text)


# --- exactly once, in order -----------------------------------------------------------------


async def test_a_repeated_push_is_answered_from_the_stored_results(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    batch = [
        phone.mutation("work_order.accept", work_order_id=str(ticket.id)),
        phone.mutation("work_order.start_travel", work_order_id=str(ticket.id)),
    ]
    first = await phone.push(*batch)
    assert first.status_code == 200, first.text
    assert [r["outcome"] for r in first.json()["results"]] == ["applied", "applied"]
    # The response was lost: the phone sends the same batch, then one more.
    batch.append(
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="x")
    )
    again = await phone.push(*batch)
    assert again.status_code == 200, again.text
    assert again.json()["results"][:2] == first.json()["results"]
    assert again.json()["last_seq"] == 3
    assert await _events(db, ticket, "accept") == 1
    assert await _events(db, ticket, "start_travel") == 1


async def test_a_gap_is_refused_with_the_expected_seq(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    phone.seq = 4  # mutations 1-4 never arrived
    response = await phone.push(phone.mutation("work_order.accept", work_order_id=str(ticket.id)))
    assert response.status_code == 409, response.text
    assert response.json()["expected_seq"] == 1
    assert await _events(db, ticket, "accept") == 0


async def test_a_seq_reused_for_another_mutation_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    assert (
        await phone.push(phone.mutation("work_order.accept", work_order_id=str(ticket.id)))
    ).status_code == 200
    phone.seq = 0  # a reinstalled app numbering from 1 again under the old client id
    response = await phone.push(
        phone.mutation("note.add", work_order_id=str(ticket.id), note_id=new_id(), text="x")
    )
    assert response.status_code == 409, response.text
    assert response.json()["field"] == "mutations[0].id"


async def test_a_poison_mutation_is_stored_rejected_and_later_ones_still_apply(
    client: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    t = await make_tenant(db)
    mine = await assigned(db, t)
    theirs = await assigned(db, t, engineer=2)
    phone = Phone(client, t.headers("engineer1"), engine=engine)
    await phone.register()
    await phone.sync()
    response = await phone.push(
        phone.mutation("work_order.accept", work_order_id=str(theirs.id)),  # not mine: 404
        phone.mutation("work_order.start_travel", work_order_id=str(mine.id)),  # not accepted
        phone.mutation(
            "labour.add",
            work_order_id=str(mine.id),
            entry_id=new_id(),
            kind="work",
            started_at="2026-11-24T10:00:00+00:00",
            ended_at="2026-11-24T09:00:00+00:00",
        ),  # ends before it starts: 422
        phone.mutation("work_order.update", work_order_id=str(mine.id), priority="P1"),
        phone.mutation("work_order.accept", work_order_id=str(mine.id)),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["last_seq"] == 5
    outcomes = [(r["outcome"], (r.get("error") or {}).get("status")) for r in body["results"]]
    assert outcomes == [
        ("rejected", 404),
        ("rejected", 409),
        ("rejected", 422),
        ("rejected", 422),
        ("applied", None),
    ]
    # An unknown mutation (e.g. a dispatch field the phone may not change) names itself.
    assert body["results"][3]["error"]["field"] == "mutations[3].name"
    assert await _events(db, theirs, "accept") == 0
    assert await _events(db, mine, "accept") == 1
    # Kept on the server for the back office, with what the engineer sent...
    stored = list(
        await db.scalars(
            select(SyncMutation)
            .where(SyncMutation.client_id == uuid.UUID(phone.client_id))
            .order_by(SyncMutation.seq)
        )
    )
    assert [m.outcome for m in stored] == ["rejected"] * 4 + ["applied"]
    assert stored[0].args["work_order_id"] == str(theirs.id)
    assert stored[0].result["error"]["code"] == "not_found"
    # ...and told to the phone through the feed, after the effects.
    await phone.sync()
    assert phone.acks[1]["outcome"] == "rejected"
    assert phone.acks[1]["error"]["code"] == "not_found"
    assert phone.acks[5]["outcome"] == "applied"
    assert phone.get("work_order", mine.id)["status"] == "accepted"


async def test_a_rejected_mutation_leaves_none_of_its_writes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """resolve writes the resolution fields, then the checklist guard refuses: the
    savepoint takes the fields back (without it the rejected resolve would half-apply)."""
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    template = ChecklistTemplate(org_id=t.org.id, name="Safety", active=True, version=1)
    db.add(template)
    await db.flush()
    db.add(
        ChecklistItem(
            org_id=t.org.id,
            template_id=template.id,
            position=1,
            kind="yes_no",
            label="Isolated the power?",
            required=True,
            options=[],
        )
    )
    await db.flush()
    phone = await registered_phone(client, t)
    wo = str(ticket.id)
    response = await phone.push(
        phone.mutation("work_order.accept", work_order_id=wo),
        phone.mutation("visit.check_in", work_order_id=wo, visit_id=new_id()),
        phone.mutation(
            "work_order.resolve",
            work_order_id=wo,
            resolution_code="FIXED",
            summary="Replaced the relay",
        ),
        phone.mutation("note.add", work_order_id=wo, note_id=new_id(), text="after"),
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["applied", "applied", "rejected", "applied"]
    assert results[2]["error"]["code"] == "checklist_incomplete"
    stored = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert stored is not None
    assert stored.status == "on_site"
    assert stored.resolution_code is None and stored.resolution_summary is None
    updated = await db.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "updated")
    )
    assert updated == 0
    notes = await db.scalar(
        select(func.count()).select_from(TicketNote).where(TicketNote.ticket_id == ticket.id)
    )
    assert notes == 1


async def test_a_malformed_envelope_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    phone = await registered_phone(client, t)
    good = phone.mutation("work_order.accept", work_order_id=new_id())
    cases: list[tuple[Any, str]] = [
        ({"client_id": "nope", "mutations": [good]}, "client_id"),
        ({"client_id": phone.client_id, "mutations": []}, "mutations"),
        ({"client_id": phone.client_id, "mutations": [{**good, "seq": 0}]}, "mutations[0].seq"),
        ({"client_id": phone.client_id, "mutations": [{**good, "id": "x"}]}, "mutations[0].id"),
        (
            {"client_id": phone.client_id, "mutations": [good, {**good, "seq": 3}]},
            "mutations[1].seq",
        ),
        ({"client_id": phone.client_id, "mutations": [good], "sent_at": "\x00"}, "sent_at"),
    ]
    for body, where in cases:
        response = await client.post(f"{SYNC}/push", json=body, headers=phone.headers)
        assert response.status_code == 422, (where, response.text)
        assert response.json()["field"] == where, response.json()
    assert (await phone.register()).json()["last_seq"] == 0


async def test_idempotency_key_on_push(client: httpx.AsyncClient, db: AsyncSession) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    accept = phone.mutation("work_order.accept", work_order_id=str(ticket.id))
    first = await phone.push(accept, **{"Idempotency-Key": "push-1"})
    replay = await phone.push(accept, **{"Idempotency-Key": "push-1"})
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    other = phone.mutation("work_order.start_travel", work_order_id=str(ticket.id))
    reused = await phone.push(accept, other, **{"Idempotency-Key": "push-1"})
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


# --- transient failures and concurrency (real commits) ----------------------------------------


@pytest.fixture
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    # The app's own settings: another test may have made get_settings() a new object.
    monkeypatch.setattr(settings, "SYNC_LOCK_TIMEOUT_MS", 300)


async def _committed_world(db: AsyncSession) -> tuple[Tenant, Ticket, Ticket]:
    t = await make_tenant(db, "Sync commit")
    a = await assigned(db, t)
    customer, site, asset = await make_customer(db, t.org)
    b = await make_ticket(
        db, t.actor("dispatcher"), customer, site, asset, assign_to=t.engineers[0]
    )
    await db.commit()
    return t, a, b


async def test_a_locked_row_stops_the_push_with_503_and_keeps_what_applied(
    committing_client: httpx.AsyncClient,
    committing_db: AsyncSession,
    engine: AsyncEngine,
    short_lock_timeout: None,
) -> None:
    t, a, b = await _committed_world(committing_db)
    phone = Phone(committing_client, t.headers("engineer1"))
    await phone.register()
    batch = [
        phone.mutation("work_order.accept", work_order_id=str(a.id)),
        phone.mutation("work_order.accept", work_order_id=str(b.id)),
    ]
    async with engine.connect() as office:
        await office.execute(select(Ticket.id).where(Ticket.id == b.id).with_for_update())
        # Bounded: a push that waited for the lock forever would hang the suite.
        stopped = await asyncio.wait_for(phone.push(*batch), 30)
        await office.rollback()
    assert stopped.status_code == 503, stopped.text
    assert stopped.headers["Retry-After"] == str(get_settings().SYNC_RETRY_AFTER_SECONDS)
    body = stopped.json()
    assert body["code"] == "unavailable" and body["last_seq"] == 1
    assert [r["outcome"] for r in body["results"]] == ["applied"]
    # Mutation 1 is committed with its result and last_seq (what the 503 says is true)...
    client_row = await committing_db.scalar(
        select(SyncClient)
        .where(SyncClient.id == uuid.UUID(phone.client_id))
        .execution_options(populate_existing=True)
    )
    assert client_row is not None and client_row.last_seq == 1
    assert await _events(committing_db, a, "accept") == 1
    # ...and the retry applies 2 and answers 1 from the stored result.
    retry = await phone.push(*batch)
    assert retry.status_code == 200, retry.text
    assert [r["outcome"] for r in retry.json()["results"]] == ["applied", "applied"]
    assert retry.json()["results"][0] == body["results"][0]
    for ticket in (a, b):
        assert await _events(committing_db, ticket, "accept") == 1


async def test_concurrent_pushes_of_one_installation_apply_each_mutation_once(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, engine: AsyncEngine
) -> None:
    t, a, b = await _committed_world(committing_db)
    phone = Phone(committing_client, t.headers("engineer1"))
    await phone.register()
    batch = [
        phone.mutation("work_order.accept", work_order_id=str(a.id)),
        phone.mutation("note.add", work_order_id=str(a.id), note_id=new_id(), text="once"),
        phone.mutation("work_order.accept", work_order_id=str(b.id)),
    ]
    client_id = uuid.UUID(phone.client_id)
    async with engine.connect() as blocker:
        await blocker.execute(
            select(SyncClient.id).where(SyncClient.id == client_id).with_for_update()
        )
        pid = int(await blocker.scalar(select(func.pg_backend_pid())) or 0)
        tasks = [asyncio.ensure_future(phone.push(*batch)) for _ in range(3)]
        for _ in range(200):
            if await _blocked_behind(engine, pid) >= len(tasks) or any(x.done() for x in tasks):
                break
            await asyncio.sleep(0.02)
        overlapped = await _blocked_behind(engine, pid) >= len(tasks)
        await blocker.rollback()
        responses = await asyncio.gather(*tasks)
    assert overlapped, [r.text for r in responses]
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    assert all(r.json() == responses[0].json() for r in responses)  # the same answer to each
    for ticket in (a, b):
        assert await _events(committing_db, ticket, "accept") == 1
    notes = await committing_db.scalar(
        select(func.count()).select_from(TicketNote).where(TicketNote.ticket_id == a.id)
    )
    assert notes == 1


async def test_dispatch_fields_are_refused_with_a_reason(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    wo = str(ticket.id)
    response = await phone.push(
        phone.mutation(
            "work_order.hold", work_order_id=wo, waiting_for="parts", reason="x", priority="P1"
        ),
        phone.mutation("work_order.accept", work_order_id=wo),
    )
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected", "applied"], response.text
    assert results[0]["error"]["code"] == "dispatch_field"
    assert results[0]["error"]["status"] == 403
    assert results[0]["error"]["field"] == "mutations[0].args.priority"
    stored = await db.scalar(
        select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    )
    assert stored is not None and stored.priority == "P3"


async def test_the_phones_clock_offset_travels_with_the_push(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    import datetime as dt

    from server.field.models import VisitCheck

    t = await make_tenant(db)
    ticket = await assigned(db, t)
    phone = await registered_phone(client, t)
    wo, visit_id = str(ticket.id), new_id()
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    batch = [
        phone.mutation("work_order.accept", work_order_id=wo),
        phone.mutation("visit.check_in", work_order_id=wo, visit_id=visit_id),
    ]
    response = await client.post(
        f"{SYNC}/push",
        json={"client_id": phone.client_id, "mutations": batch, "sent_at": ahead.isoformat()},
        headers=phone.headers,
    )
    assert [r["outcome"] for r in response.json()["results"]] == ["applied", "applied"]
    check = await db.get(VisitCheck, (uuid.UUID(visit_id), "in"))
    assert check is not None
    assert 3500 < check.clock_offset_s < 3700 and check.clock_skew is True
    bad = await client.post(
        f"{SYNC}/push",
        json={"client_id": phone.client_id, "mutations": batch, "sent_at": "yesterday"},
        headers=phone.headers,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "sent_at"


def test_every_mutation_of_the_protocol_has_a_handler() -> None:
    from server.sync.mutations import HANDLERS
    from shared.sync import MUTATIONS

    assert set(HANDLERS) == set(MUTATIONS)
