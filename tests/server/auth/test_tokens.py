"""Log-in, access-token verification and refresh-token rotation."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import security, service
from server.auth.models import RefreshToken, Role, User
from server.config import Settings, get_settings
from server.errors import Unauthenticated
from tests.fixtures.factories import PASSWORD, headers_for, make_org, make_tenant, make_user

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
PROTECTED = "/api/v1/tickets"
PROBLEM = "application/problem+json"


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


def _claims(settings: Settings, user: User, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "org": str(user.org_id),
        "role": user.role,
        "iat": now,
        "exp": now + 600,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return claims


def _sign(settings: Settings, claims: dict[str, Any], key: str | None = None) -> str:
    return jwt.encode(claims, key or settings.SECRET_KEY, algorithm="HS256")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] in {"unauthenticated", "invalid_token"}
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_login_with_factory_password_returns_working_tokens(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    user = t.users["dispatcher"]
    response = await _login(client, user.email, PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    assert body["refresh_token"].startswith("ffr_")
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(user.id)
    assert me.json()["org_id"] == str(t.org.id)


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    user = await make_user(db, org, Role.AGENT)
    wrong = await _login(client, user.email, "not-the-password")
    unknown = await _login(client, f"nobody-{uuid.uuid4().hex[:8]}@example.test", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["code"] == unknown.json()["code"]


async def test_inactive_user_cannot_log_in(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    user = await make_user(db, org, Role.AGENT)
    user.is_active = False
    await db.flush()
    response = await _login(client, user.email, PASSWORD)
    assert response.status_code == 401, response.text
    unknown = await _login(client, f"nobody-{uuid.uuid4().hex[:8]}@example.test", PASSWORD)
    assert response.json()["detail"] == unknown.json()["detail"]


async def test_demo_password_is_refused_in_production_only(
    db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db)
    user = await make_user(db, org, Role.ADMIN)
    user.password_hash = security.hash_password("fixflow-demo")
    await db.flush()
    production = settings.model_copy(update={"ENV": "production"})
    with pytest.raises(Unauthenticated, match="demo password"):
        await service.login(db, production, email=user.email, password="fixflow-demo")
    # The same log-in outside production works, so the refusal is the production rule.
    pair = await service.login(db, settings, email=user.email, password="fixflow-demo")
    assert pair.access_token


async def test_valid_token_is_accepted_on_protected_route(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    t = await make_tenant(db)
    token = _sign(settings, _claims(settings, t.users["viewer"]))
    response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_alg_none_token_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    t = await make_tenant(db)
    claims = _claims(settings, t.users["admin"])
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    _assert_401(await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))


async def test_token_signed_with_another_key_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    t = await make_tenant(db)
    token = _sign(settings, _claims(settings, t.users["admin"]), key="x" * 40)
    _assert_401(await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))


async def test_expired_token_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    t = await make_tenant(db)
    past = int(time.time()) - 120
    token = _sign(settings, _claims(settings, t.users["admin"], iat=past - 900, exp=past))
    response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    _assert_401(response)
    assert "expired" in response.json()["detail"].lower()


@pytest.mark.parametrize("claim", ["sub", "org", "role", "exp", "aud", "iss"])
async def test_token_missing_a_claim_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, claim: str
) -> None:
    t = await make_tenant(db)
    claims = _claims(settings, t.users["admin"])
    del claims[claim]
    token = _sign(settings, claims)
    _assert_401(await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))


@pytest.mark.parametrize(
    ("claim", "value"), [("aud", "someone-else"), ("iss", "evil-issuer"), ("role", "root")]
)
async def test_token_with_wrong_audience_issuer_or_role_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, claim: str, value: str
) -> None:
    t = await make_tenant(db)
    token = _sign(settings, _claims(settings, t.users["admin"], **{claim: value}))
    _assert_401(await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "ffk_nope", "ffk_abc_def"])
async def test_garbage_bearer_is_rejected(client: httpx.AsyncClient, token: str) -> None:
    _assert_401(await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))


async def test_missing_credentials_and_basic_scheme_are_rejected(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    _assert_401(await client.get(PROTECTED))
    basic = base64.b64encode(f"{t.users['admin'].email}:{PASSWORD}".encode()).decode()
    _assert_401(await client.get(PROTECTED, headers={"Authorization": f"Basic {basic}"}))


async def test_token_of_inactive_user_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    headers = t.headers("dispatcher")
    assert (await client.get(PROTECTED, headers=headers)).status_code == 200
    t.users["dispatcher"].is_active = False
    await db.flush()
    _assert_401(await client.get(PROTECTED, headers=headers))


async def test_token_of_deleted_user_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    user = await make_user(db, org, Role.VIEWER)
    headers = headers_for(user)
    assert (await client.get(PROTECTED, headers=headers)).status_code == 200
    await db.delete(user)
    await db.flush()
    _assert_401(await client.get(PROTECTED, headers=headers))


async def test_token_with_org_switched_to_another_tenant_is_rejected(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    home = await make_tenant(db)
    other = await make_tenant(db)
    # Correctly signed, but the user does not belong to the organisation the claim names.
    claims = _claims(settings, home.users["admin"], org=str(other.org.id))
    token = _sign(settings, claims)
    _assert_401(await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))


async def test_refresh_rotates_tokens_and_old_refresh_token_stops_working(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    first = (await _login(client, t.users["agent"].email, PASSWORD)).json()
    rotated = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert me.status_code == 200
    # Once the new token is used, the old one is dead (even within the retry grace).
    assert (await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})).is_success
    again = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401, again.text
    assert again.headers["content-type"].startswith(PROBLEM)


async def test_reusing_a_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    email = t.users["agent"].email
    first = (await _login(client, email, PASSWORD)).json()
    other_login = (await _login(client, email, PASSWORD)).json()
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()
    await _age_rotation(db, first["refresh_token"])  # past the grace for a lost answer

    reuse = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401, reuse.text
    assert reuse.json()["code"] == "invalid_token"
    assert "already used" in reuse.json()["detail"]

    # The revocation outlived the 401: the newest token of the family is dead too.
    newest = await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert newest.status_code == 401, newest.text
    family = (
        await db.scalars(
            select(RefreshToken).where(
                RefreshToken.token_hash.in_(
                    [
                        security.digest(first["refresh_token"]),
                        security.digest(second["refresh_token"]),
                    ]
                )
            )
        )
    ).all()
    assert len(family) == 2
    assert all(row.revoked_at is not None for row in family)
    # Another log-in of the same user is another family and keeps working.
    unaffected = await client.post(REFRESH, json={"refresh_token": other_login["refresh_token"]})
    assert unaffected.status_code == 200, unaffected.text


async def _age_rotation(db: AsyncSession, token: str) -> None:
    """Move the token's rotation back past the retry grace (as if the time had passed)."""
    seconds = get_settings().REFRESH_RETRY_GRACE_SECONDS + 1
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == security.digest(token))
        .values(used_at=RefreshToken.used_at - dt.timedelta(seconds=seconds))
    )
    await db.flush()


async def test_a_phone_that_lost_the_refresh_answer_retries_within_the_grace(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The phone sent its refresh token, the server rotated it, the answer was lost in a
    tunnel: the phone presents the same token again. It gets new tokens (not a revoked
    login and a password prompt with gloves on); the pair it never received is dead."""
    t = await make_tenant(db)
    first = (await _login(client, t.users["engineer1"].email, PASSWORD)).json()
    lost = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert lost.status_code == 200, lost.text
    retry = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert retry.status_code == 200, retry.text
    third = retry.json()
    assert third["refresh_token"] != lost.json()["refresh_token"]
    # The pair never received counts as used: presenting it after the grace is reuse.
    await _age_rotation(db, lost.json()["refresh_token"])
    stolen = await client.post(REFRESH, json={"refresh_token": lost.json()["refresh_token"]})
    assert stolen.status_code == 401, stolen.text
    assert "already used" in stolen.json()["detail"]
    # ... and revokes the login, the retry's tokens included.
    assert (
        await client.post(REFRESH, json={"refresh_token": third["refresh_token"]})
    ).status_code == 401


async def test_the_grace_covers_only_the_last_rotation_while_its_token_is_unused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    t = await make_tenant(db)
    first = (await _login(client, t.users["engineer1"].email, PASSWORD)).json()
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()
    third = (await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})).json()
    # first was rotated two rotations ago: reuse, within seconds or not.
    reuse = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401, reuse.text
    assert (
        await client.post(REFRESH, json={"refresh_token": third["refresh_token"]})
    ).status_code == 401


async def test_a_thief_retrying_within_the_grace_is_caught_when_the_phone_refreshes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """A thief holding the old token presents it right after the phone's rotation: the
    grace cannot tell them from a retry and answers. The phone's token is superseded, so
    when the phone refreshes, that is reuse: the whole login is revoked, the thief's too."""
    t = await make_tenant(db)
    stolen = (await _login(client, t.users["engineer1"].email, PASSWORD)).json()
    phone = (await client.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})).json()
    thief = await client.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})
    assert thief.status_code == 200, thief.text
    caught = await client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})
    assert caught.status_code == 401, caught.text
    assert "already used" in caught.json()["detail"]
    late = await client.post(REFRESH, json={"refresh_token": thief.json()["refresh_token"]})
    assert late.status_code == 401, late.text


async def test_retries_do_not_move_the_grace_window(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The window runs from the rotation: retrying every 100 s does not keep an old token
    alive past 120 s."""
    t = await make_tenant(db)
    first = (await _login(client, t.users["engineer1"].email, PASSWORD)).json()
    assert (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).is_success
    family = await db.scalar(
        select(RefreshToken.family_id).where(
            RefreshToken.token_hash == security.digest(first["refresh_token"])
        )
    )
    codes = []
    for _ in range(2):
        await db.execute(  # 100 s pass
            update(RefreshToken)
            .where(RefreshToken.family_id == family, RefreshToken.used_at.is_not(None))
            .values(used_at=RefreshToken.used_at - dt.timedelta(seconds=100))
        )
        await db.flush()
        retry = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
        codes.append(retry.status_code)
    assert codes == [200, 401]  # 100 s after the rotation, then 200 s


async def test_no_grace_when_it_is_turned_off(
    client: httpx.AsyncClient,
    db: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
) -> None:
    # The app's own settings: another test may have made get_settings() a new object.
    monkeypatch.setattr(settings, "REFRESH_RETRY_GRACE_SECONDS", 0)
    t = await make_tenant(db)
    first = (await _login(client, t.users["engineer1"].email, PASSWORD)).json()
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()
    reuse = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401, reuse.text
    assert (
        await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    ).status_code == 401


async def test_refresh_with_unknown_token_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post(REFRESH, json={"refresh_token": "ffr_" + "x" * 40})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)


async def _wait_for_fresh_window(seconds_needed: float) -> None:
    """The limiter counts per clock minute; don't start a burst just before it rolls over."""
    left = 60 - time.time() % 60
    if left < seconds_needed:
        await asyncio.sleep(left + 0.05)


async def test_login_rate_limit_per_email_answers_429_with_retry_after(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db)
    user = await make_user(db, org, Role.AGENT)
    bystander = await make_user(db, org, Role.AGENT)
    limit = settings.LOGIN_ATTEMPTS_PER_MINUTE
    await _wait_for_fresh_window(10)
    for _ in range(limit):
        response = await _login(client, user.email, "wrong-password")
        assert response.status_code == 401, response.text
    # Even the right password is refused now, and the e-mail's case does not matter.
    blocked = await _login(client, user.email.upper(), PASSWORD)
    assert blocked.status_code == 429, blocked.text
    assert blocked.headers["content-type"].startswith(PROBLEM)
    assert blocked.json()["code"] == "rate_limited"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    # The limit is per e-mail: another user from the same address still logs in.
    assert (await _login(client, bystander.email, PASSWORD)).status_code == 200
