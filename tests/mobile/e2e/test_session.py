"""Log-ins on a shared phone against the real server: the phone learns who is logged in;
an expired refresh token after days offline asks for the password and keeps every queued
action, which the same user's next log-in sends exactly once; another user is refused
without the network while anything is queued, and gets a clean store afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mobile.store import UserSwitchRefused, rows
from mobile.store.core import ACCESS_EXPIRES_AT
from server.auth.models import RefreshToken
from server.field.models import TicketNote
from server.sync.models import SyncMutation
from server.tickets.models import Ticket
from tests.fixtures.factories import PASSWORD, Tenant, make_ticket
from tests.mobile.e2e.faults import Faults

GPS = {"lat": 31.2301, "lon": 121.4701, "accuracy_m": 6.0}


async def test_the_phone_knows_who_logged_in(phones: Callable[..., Any], tenant: Tenant) -> None:
    phone = await phones(tenant)
    user = tenant.users["engineer1"]
    assert phone.store.engineer_id() == str(tenant.engineers[0].id)
    assert phone.store.user() == {
        "username": user.email,
        "organisation": None,
        "user_id": str(user.id),
        "org_id": str(tenant.org.id),
        "engineer_id": str(tenant.engineers[0].id),
        "full_name": user.full_name,
    }


async def test_an_expired_refresh_token_keeps_every_queued_action_for_the_next_login(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, db: AsyncSession
) -> None:
    phone = await phones(tenant)
    await phone.sync_once()
    wo = str(ticket.id)
    phone.store.accept(wo)
    phone.store.start_travel(wo)
    visit = phone.store.check_in(wo, GPS)
    for n in range(3):
        phone.store.add_note(wo, f"day {n + 1} offline", visit_id=visit)
    # A week later: the access token has lapsed, and so has the refresh token.
    phone.store.set_meta(**{ACCESS_EXPIRES_AT: "2000-01-01T00:00:00+00:00"})
    user_id = tenant.users["engineer1"].id
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id)
        .values(expires_at=func.now() - func.make_interval(0, 0, 0, 1))
    )
    await db.flush()

    await phone._attempt()

    assert phone.status.auth_required and phone.status.online is True
    # Kept, unanswered (marked sent before the push met the expired login).
    assert [e.seq for e in phone.store.unsent(10)] == [1, 2, 3, 4, 5, 6]
    assert phone.store.pending_count() == 6

    await phone.login(tenant.users["engineer1"].email, PASSWORD)
    await phone._attempt()

    assert not phone.status.auth_required
    assert [(e.state, e.acked) for e in phone.store.outbox()] == [("applied", True)] * 6
    stored = await db.scalar(
        select(func.count())
        .select_from(SyncMutation)
        .where(SyncMutation.client_id == phone.store.client_id)
    )
    assert stored == 6
    notes = await db.scalars(select(TicketNote.text).where(TicketNote.ticket_id == ticket.id))
    assert sorted(notes) == ["day 1 offline", "day 2 offline", "day 3 offline"]
    assert phone.store.get(rows.WORK_ORDER, wo)["status"] == "on_site"


async def test_another_user_is_refused_without_the_network_while_work_is_queued(
    phones: Callable[..., Any],
    tenant: Tenant,
    ticket: Ticket,
    faults: Faults,
    db: AsyncSession,
    client: httpx.AsyncClient,
) -> None:
    phone = await phones(tenant)
    await phone.sync_once()
    wo = str(ticket.id)
    phone.store.add_note(wo, "not synced yet")
    old_client = phone.store.client_id
    sent = len(faults.log)

    with pytest.raises(UserSwitchRefused) as refused:
        await phone.login(tenant.users["engineer2"].email, PASSWORD)

    assert refused.value.pending == 1
    assert len(faults.log) == sent  # decided on the phone: nothing was sent
    assert phone.store.engineer_id() == str(tenant.engineers[0].id)

    # Synced, the phone may change hands: the second engineer sees nothing of the first.
    await phone.sync_once()
    theirs = await make_ticket(
        db,
        tenant.actor("dispatcher"),
        tenant.customer,
        tenant.site,
        assign_to=tenant.engineers[1],
    )
    await phone.login(tenant.users["engineer2"].email, PASSWORD)
    assert phone.store.client_id != old_client
    assert phone.store.get(rows.WORK_ORDER, wo) is None and phone.store.outbox() == []
    await phone.sync_once()
    assert [w["id"] for w in phone.store.all(rows.WORK_ORDER)] == [str(theirs.id)]
    phone.store.accept(str(theirs.id))
    await phone.sync_once()
    [entry] = phone.store.outbox()
    assert (entry.seq, entry.state, entry.acked) == (1, "applied", True)
