"""Regressions for defects an independent review found (each test fails without its fix)."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import security
from server.auth import service as auth_service
from server.auth.models import RefreshToken, Role
from server.config import Settings, not_random
from tests.fixtures.factories import (
    PASSWORD,
    make_policy,
    make_tenant,
    make_ticket,
    make_user,
)


async def _login(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_family_revocation_waits_for_a_rotation_in_flight_and_revokes_its_token(
    committing_client: httpx.AsyncClient, committing_db: AsyncSession, app: Any
) -> None:
    t = await make_tenant(committing_db)
    await committing_db.commit()
    first = await _login(committing_client, t.users["agent"].email)
    second = (
        await committing_client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
    ).json()
    family_id = await committing_db.scalar(
        select(RefreshToken.family_id).where(
            RefreshToken.token_hash == security.digest(second["refresh_token"])
        )
    )
    assert family_id is not None
    # Another request is rotating the family: it holds the family lock and has issued T3.
    async with app.state.engine.connect() as rotating:
        tx = await rotating.begin()
        await rotating.execute(
            select(func.pg_advisory_xact_lock(auth_service._family_lock(family_id)))
        )
        third = security.new_secret("ffr")
        await rotating.execute(
            text(
                "INSERT INTO refresh_tokens (id, org_id, user_id, family_id, token_hash, "
                "expires_at) VALUES (:id, :org, :user, :family, :hash, now() + interval '1 day')"
            ),
            {
                "id": uuid.uuid4(),
                "org": t.org.id,
                "user": t.users["agent"].id,
                "family": family_id,
                "hash": security.digest(third),
            },
        )
        # Meanwhile the thief's old token T1 is presented again.
        reuse = asyncio.create_task(
            committing_client.post(
                "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
            )
        )
        await asyncio.sleep(0.3)
        assert not reuse.done()  # it waits for the rotation to finish
        await tx.commit()
    assert (await reuse).status_code == 401
    after = await committing_client.post("/api/v1/auth/refresh", json={"refresh_token": third})
    assert after.status_code == 401  # T3, issued during the revocation, is revoked too


async def test_a_demoted_admin_loses_admin_rights_at_once(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    second_admin = await make_user(db, t.org, Role.ADMIN)
    token = (await _login(client, second_admin.email))["access_token"]
    demote = await client.patch(
        f"/api/v1/users/{second_admin.id}",
        json={"role": "viewer"},
        headers={**t.headers("admin"), "If-Match": '"v1"'},
    )
    assert demote.status_code == 200
    attempt = await client.post(
        "/api/v1/api-keys",
        json={"name": "backdoor", "scopes": ["tickets:write"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert attempt.status_code == 403


async def test_api_key_secret_is_not_kept_for_replays(client: httpx.AsyncClient, db: Any) -> None:
    t = await make_tenant(db)
    headers = {**t.headers("admin"), "Idempotency-Key": "key-create-1"}
    body = {"name": "ERP", "scopes": ["tickets:read"]}
    first = await client.post("/api/v1/api-keys", json=body, headers=headers)
    assert first.status_code == 201 and first.json()["key"].startswith("ffk_")
    replay = await client.post("/api/v1/api-keys", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["key"] is None
    assert replay.json()["id"] == first.json()["id"]
    stored = await db.scalar(text("SELECT response_body::text FROM idempotency_records"))
    assert "ffk_" not in stored


async def test_padding_the_email_does_not_reset_the_login_limit(
    client: httpx.AsyncClient, db: Any, settings: Settings
) -> None:
    t = await make_tenant(db)
    email = t.users["viewer"].email
    # The limiter counts per clock minute: do not straddle two windows.
    if (left := 60 - time.time() % 60) < 10:
        await asyncio.sleep(left + 0.1)
    for i in range(settings.LOGIN_ATTEMPTS_PER_MINUTE + 1):
        padded = " " * i + email.upper()
        response = await client.post(
            "/api/v1/auth/token", data={"username": padded, "password": "wrong"}
        )
    assert response.status_code == 429


def test_production_refuses_the_development_secret_key() -> None:
    with pytest.raises(RuntimeError, match="FIXFLOW_SECRET_KEY"):
        Settings(ENV="production").check_production()
    for weak in ("short", "x" * 40, "0123456789" * 4, "abcdefgh" * 5 + "abc", "ab" * 16):
        with pytest.raises(RuntimeError):  # too short, or a shorter text repeated
            Settings(ENV="production", SECRET_KEY=weak).check_production()
    good = secrets.token_urlsafe(48)
    with pytest.raises(RuntimeError, match="FIXFLOW_PUBLIC_URL"):
        Settings(ENV="production", SECRET_KEY=good).check_production()
    with pytest.raises(RuntimeError, match="FIXFLOW_PUBLIC_URL"):
        Settings(
            ENV="production", SECRET_KEY=good, PUBLIC_URL="service.example.com"
        ).check_production()
    Settings(
        ENV="production", SECRET_KEY=good, PUBLIC_URL="https://service.example.com"
    ).check_production()
    assert Settings(PUBLIC_URL="https://x.example/ ").public_url == "https://x.example"
    assert Settings(HOST="127.0.0.1", PORT=8123).public_url == "http://127.0.0.1:8123"


def test_production_takes_every_key_the_usual_generators_make() -> None:
    """A rule of "16 different characters" refused 23 % of `openssl rand -hex 32` keys and
    93 % of `-hex 16` keys (64 random hex digits often miss one of the 16)."""
    makers = {secrets.token_hex: (16, 24, 32), secrets.token_urlsafe: (24, 32, 48)}  # 32+ chars
    for make, sizes in makers.items():
        for size in sizes:
            refused = [key for key in (make(size) for _ in range(2000)) if not_random(key)]
            assert refused == [], (make.__name__, size, refused[:3])


async def test_asset_history_needs_ticket_scope_and_hides_colleagues_open_work(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    dispatcher = t.actor("dispatcher")
    mine = await make_ticket(db, dispatcher, t.customer, t.site, t.asset, assign_to=t.engineers[0])
    theirs = await make_ticket(
        db, dispatcher, t.customer, t.site, t.asset, assign_to=t.engineers[1], title="Colleague"
    )
    path = f"/api/v1/assets/{t.asset.id}/history"
    seen = {r["id"] for r in (await client.get(path, headers=t.headers("engineer1"))).json()}
    assert str(mine.id) in seen and str(theirs.id) not in seen
    everything = {r["id"] for r in (await client.get(path, headers=t.headers("dispatcher"))).json()}
    assert {str(mine.id), str(theirs.id)} <= everything
    _key, secret = await auth_service.create_api_key(
        db, t.actor("admin"), name="crm", scopes=["customers:read"]
    )
    denied = await client.get(path, headers={"Authorization": f"Bearer {secret}"})
    assert denied.status_code == 403


async def test_late_resolution_is_recorded_after_a_late_response(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    await make_policy(db, t.org, "P1", response_minutes=60, resolution_minutes=120)
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, priority="P1")
    await db.execute(
        text(
            "UPDATE tickets SET created_at = created_at - interval '200 minutes', "
            "response_due_at = response_due_at - interval '200 minutes', "
            "resolution_due_at = resolution_due_at - interval '200 minutes' WHERE id = :id"
        ),
        {"id": ticket.id},
    )
    headers = t.headers("dispatcher")
    for body in (
        {"action": "assign", "engineer_id": str(t.engineers[0].id)},
        {"action": "accept"},
        {"action": "arrive"},
        {"action": "resolve"},
    ):
        response = await client.post(
            f"/api/v1/tickets/{ticket.id}/transitions", json=body, headers=headers
        )
        assert response.status_code == 200, response.text
    final = response.json()
    assert final["response_breached"] is True
    assert final["resolution_breached"] is True
    assert final["sla_state"] == "breached"


async def test_users_with_long_email_addresses_can_write(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    local = "a" * 64
    email = f"{local}@{'b' * 60}.{'c' * 60}.example.com"
    created = await client.post(
        "/api/v1/users",
        json={"email": email, "full_name": "Long", "password": PASSWORD, "role": "dispatcher"},
        headers=t.headers("admin"),
    )
    assert created.status_code == 201, created.text
    token = (await _login(client, email))["access_token"]
    ticket = await client.post(
        "/api/v1/tickets",
        json={"customer_id": str(t.customer.id), "title": "From a long address"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["created_by"] == f"user:{email}"


async def test_service_desk_agents_cannot_run_field_steps(
    client: httpx.AsyncClient, db: Any
) -> None:
    t = await make_tenant(db)
    ticket = await make_ticket(db, t.actor("dispatcher"), t.customer, assign_to=t.engineers[0])
    response = await client.post(
        f"/api/v1/tickets/{ticket.id}/transitions",
        json={"action": "accept"},
        headers=t.headers("agent"),
    )
    assert response.status_code == 403
    cancel = await client.post(
        f"/api/v1/tickets/{ticket.id}/transitions",
        json={"action": "cancel", "reason": "Customer fixed it"},
        headers=t.headers("agent"),
    )
    assert cancel.status_code == 200
