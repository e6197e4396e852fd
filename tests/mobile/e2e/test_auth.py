"""The engineer's login on the phone: tokens kept in the store, an expired access token
refreshed once, a refused refresh asks for a new login without losing the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mobile.store.core import ACCESS_TOKEN, ORGANISATION, REFRESH_TOKEN
from mobile.sync import AuthRequired, OrganisationRequired, Transient
from server.tickets.models import Ticket
from tests.fixtures.factories import PASSWORD, Tenant, make_tenant
from tests.mobile.e2e.faults import Faults


async def test_an_expired_access_token_is_refreshed_once(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, faults: Faults
) -> None:
    phone = await phones(tenant)
    refresh = phone.store.get_meta(REFRESH_TOKEN)
    phone.store.set_meta(**{ACCESS_TOKEN: "expired.or.garbage"})

    await phone.sync_once()

    assert len(faults.sent("POST", "/auth/refresh")) == 1
    assert phone.store.get_meta(REFRESH_TOKEN) not in (None, refresh)  # rotated and kept
    assert phone.store.get_meta(ACCESS_TOKEN) != "expired.or.garbage"


async def test_a_refused_refresh_asks_for_a_login_and_keeps_the_outbox(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket
) -> None:
    phone = await phones(tenant)
    await phone.sync_once()
    phone.store.add_note(str(ticket.id), "before the login expired")
    phone.store.set_meta(**{ACCESS_TOKEN: "expired", REFRESH_TOKEN: "revoked-refresh-token"})

    with pytest.raises(AuthRequired):
        await phone.sync_once()
    assert [e.seq for e in phone.store.unsent(10)] == [1]  # kept, still to send

    await phone.login(tenant.users["engineer1"].email, PASSWORD)
    await phone.sync_once()
    [entry] = phone.store.outbox()
    assert (entry.state, entry.acked) == ("applied", True)


async def test_a_wrong_password_is_an_auth_error(
    phones: Callable[..., Any], tenant: Tenant
) -> None:
    phone = await phones(tenant)
    with pytest.raises(AuthRequired):
        await phone.login(tenant.users["engineer1"].email, "not-the-password")


async def test_a_lost_refresh_answer_does_not_cost_the_engineer_a_login(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, faults: Faults
) -> None:
    """The server rotated the refresh token but the answer was lost (a tunnel): the phone
    still holds the old token and presents it again. Within the retry grace that is not
    taken for theft: the phone gets new tokens and its outbox goes."""
    phone = await phones(tenant)
    await phone.sync_once()
    phone.store.add_note(str(ticket.id), "written in the tunnel")
    refresh = phone.store.get_meta(REFRESH_TOKEN)
    phone.store.set_meta(**{ACCESS_TOKEN: "expired"})
    faults.add("POST", "/auth/refresh", "drop_response")

    with pytest.raises(Transient):  # this round ends on the lost answer
        await phone.sync_once()
    assert phone.store.get_meta(REFRESH_TOKEN) == refresh  # nothing arrived, nothing kept

    await phone.sync_once()
    assert [s.outcome for s in faults.sent("POST", "/auth/refresh")] == [
        "dropped response (200)",
        200,
    ]
    assert phone.store.get_meta(REFRESH_TOKEN) not in (None, refresh)
    [entry] = phone.store.outbox()
    assert (entry.state, entry.acked) == ("applied", True)


async def test_an_engineer_in_two_organisations_names_one_at_login(
    phones: Callable[..., Any], tenant: Tenant, ticket: Ticket, db: AsyncSession
) -> None:
    """The same address and password in a second organisation: the phone's login answers
    which organisations it opens, and logging in again naming one works and syncs there."""
    email = tenant.users["engineer1"].email
    other = await make_tenant(db, "Second employer")
    other.users["engineer1"].email = email
    await db.flush()
    phone = await phones(tenant, who="viewer")  # any login; the engineer's comes below

    with pytest.raises(OrganisationRequired) as asked:
        await phone.login(email, PASSWORD)
    assert {o["slug"] for o in asked.value.organisations} == {tenant.org.slug, other.org.slug}

    await phone.login(email, PASSWORD, organisation=tenant.org.slug)
    assert phone.store.get_meta(ORGANISATION) == tenant.org.slug
    await phone.sync_once()
    assert phone.store.get("work_order", str(ticket.id)) is not None
