"""E-mail addresses are unique per organisation: one tenant learns nothing about another's
accounts, and log-in asks which organisation when the password opens several."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import security
from server.auth.models import Role, User
from tests.fixtures.factories import PASSWORD, Tenant, make_tenant, make_user

TOKEN = "/api/v1/auth/token"


def _new_user(email: str) -> dict[str, Any]:
    return {"email": email, "full_name": "Wang Wei", "password": PASSWORD, "role": "agent"}


def _new_engineer(email: str) -> dict[str, Any]:
    return {"email": email, "password": PASSWORD, "display_name": "Li Na"}


async def _me(client: httpx.AsyncClient, tokens: dict[str, Any]) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await client.get("/api/v1/auth/me", headers=bearer)
    assert me.status_code == 200, me.text
    body: dict[str, Any] = me.json()
    return body


async def _login(client: httpx.AsyncClient, email: str, **form: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": PASSWORD, **form})


@pytest.mark.parametrize(
    ("path", "body"), [("/api/v1/users", _new_user), ("/api/v1/engineers", _new_engineer)]
)
async def test_an_address_used_only_in_another_organisation_is_not_revealed(
    client: httpx.AsyncClient, db: AsyncSession, path: str, body: Any
) -> None:
    a = await make_tenant(db, "Acme")
    b = await make_tenant(db, "Demo")
    taken_elsewhere = a.users["admin"].email = f"admin-{uuid.uuid4().hex[:6]}@acme.fixflow"
    await db.flush()
    fresh = f"new-{uuid.uuid4().hex[:8]}@demo.fixflow"
    admin = b.headers("admin")

    elsewhere = await client.post(path, json=body(taken_elsewhere.upper()), headers=admin)
    unused = await client.post(path, json=body(fresh), headers=admin)

    # The same answer as for an address nobody uses: created, in B, nothing about A.
    assert (elsewhere.status_code, unused.status_code) == (201, 201), elsewhere.text
    assert str(a.org.id) not in elsewhere.text and "Acme" not in elsewhere.text
    again = await client.post(path, json=body(taken_elsewhere), headers=admin)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "conflict" and "your organisation" in again.json()["detail"]


async def test_a_duplicate_in_ones_own_organisation_is_still_a_conflict(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    own = t.users["viewer"].email = f"viewer-{uuid.uuid4().hex[:6]}@acme.fixflow"
    await db.flush()
    response = await client.post(
        "/api/v1/users", json=_new_user(f"  {own.upper()} "), headers=t.headers("admin")
    )
    assert response.status_code == 409, response.text
    assert response.json()["field"] == "email"


async def test_the_database_keeps_an_address_unique_per_organisation_only(
    db: AsyncSession,
) -> None:
    a = await make_tenant(db)
    b = await make_tenant(db)
    email = a.users["agent"].email
    twin = await make_user(db, b.org, Role.AGENT)
    twin.email = email
    await db.flush()  # another organisation: allowed
    with pytest.raises(IntegrityError):
        async with db.begin_nested():
            clash = await make_user(db, a.org, Role.VIEWER)
            clash.email = email
            await db.flush()


async def _person_in_two(db: AsyncSession) -> tuple[Tenant, Tenant, str]:
    """One address with an account in each of two organisations, the same password."""
    a = await make_tenant(db, "Acme")
    b = await make_tenant(db, "Demo")
    email = f"li.na-{uuid.uuid4().hex[:6]}@example.test"
    for tenant in (a, b):
        user = await make_user(db, tenant.org, Role.DISPATCHER)
        user.email = email
    await db.flush()
    return a, b, email


async def test_a_password_opening_two_accounts_asks_for_the_organisation(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b, email = await _person_in_two(db)

    ambiguous = await _login(client, email)

    assert ambiguous.status_code == 409, ambiguous.text
    problem = ambiguous.json()
    assert problem["code"] == "organisation_required"
    assert sorted(o["slug"] for o in problem["organisations"]) == sorted([a.org.slug, b.org.slug])
    assert "access_token" not in problem
    by_slug = await _login(client, email, organisation=a.org.slug)
    assert by_slug.status_code == 200, by_slug.text
    assert (await _me(client, by_slug.json()))["org_id"] == str(a.org.id)
    by_id = await _login(client, email, organisation=str(b.org.id))
    assert (await _me(client, by_id.json()))["org_id"] == str(b.org.id)


async def test_the_account_the_password_opens_logs_in_without_naming_it(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b, email = await _person_in_two(db)
    await db.flush()
    other = await db.get(User, await _user_id(db, b, email))
    assert other is not None
    other.password_hash = security.hash_password("another-long-password")
    await db.flush()

    response = await _login(client, email)

    assert response.status_code == 200, response.text
    assert (await _me(client, response.json()))["org_id"] == str(a.org.id)


async def test_an_inactive_account_is_not_a_choice(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    a, b, email = await _person_in_two(db)
    inactive = await db.get(User, await _user_id(db, a, email))
    assert inactive is not None
    inactive.is_active = False
    await db.flush()

    response = await _login(client, email)

    assert response.status_code == 200, response.text
    assert (await _me(client, response.json()))["org_id"] == str(b.org.id)
    refused = await _login(client, email, organisation=a.org.slug)
    assert refused.status_code == 401


async def test_naming_a_wrong_or_unknown_organisation_is_a_wrong_login(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, _, email = await _person_in_two(db)
    stranger = await make_tenant(db, "Stranger")
    wrong_password = await client.post(
        TOKEN, data={"username": email, "password": "not-the-password"}
    )
    answers = [
        await _login(client, email, organisation=stranger.org.slug),
        await _login(client, email, organisation="no-such-organisation"),
        await _login(client, email, organisation=str(uuid.uuid4())),
        wrong_password,
    ]
    for response in answers:
        assert response.status_code == 401, response.text
        assert response.json()["detail"] == wrong_password.json()["detail"]


async def test_an_unknown_address_costs_one_verification_like_a_wrong_password(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work per log-in does not depend on whether the address or the organisation
    exists (counted, not timed)."""
    t = await make_tenant(db)
    calls: list[bool] = []
    verify = security.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        calls.append(password_hash is None)
        return verify(password_hash, password)

    monkeypatch.setattr(security, "verify_password", counting)
    known = t.users["agent"].email
    for form in (
        {"username": "nobody@example.test"},
        {"username": known, "organisation": "no-such-organisation"},
        {"username": known, "password": "not-the-password"},
    ):
        calls.clear()
        response = await client.post(TOKEN, data={"password": PASSWORD, **form})
        assert response.status_code == 401
        assert len(calls) == 1, (form, calls)


async def _user_id(db: AsyncSession, tenant: Tenant, email: str) -> uuid.UUID:
    from sqlalchemy import select

    found = await db.scalar(
        select(User.id).where(User.org_id == tenant.org.id, User.email == email)
    )
    assert found is not None
    return found
