"""Credentials built to break the parser: correctly signed tokens whose claims have the wrong
type, API keys and refresh tokens of odd shapes, odd log-in forms. Each is a 401 (or a 422
for a form the schema refuses), never a 500, and no answer repeats the parser's words."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import Role, User
from server.config import Settings
from tests.fixtures.factories import make_org, make_user

PROTECTED = "/api/v1/tickets"
CLAIMS = ("sub", "org", "role", "exp", "iat", "jti", "aud", "iss")
# Values of every JSON type a claim must not have, and strings that are not what it holds.
WRONG: list[Any] = [
    123,
    -1,
    0,
    1.5,
    10**400,
    -(10**400),
    float("inf"),
    float("nan"),
    True,
    False,
    None,
    [],
    [1],
    ["fixflow-api"],
    {},
    {"a": 1},
    "",
    "not-a-uuid",
    "0" * 32,
    "{" + str(uuid.UUID(int=1)) + "}",
    "urn:uuid:" + str(uuid.UUID(int=1)),
    "x" * 5000,
    "管理员",
    "😀",
]
JTI_SHAPED = ("not-a-uuid", "0" * 32)
# The parsers' own vocabulary: none of it may reach the caller.
LEAKS = ("Traceback", "object has no attribute", "hexadecimal", "int()", "NoneType", "Error:")


def _claims(settings: Settings, user: User) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": str(user.id),
        "org": str(user.org_id),
        "role": user.role,
        "iat": now,
        "exp": now + 600,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "jti": uuid.uuid4().hex,
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _sign(settings: Settings, payload: Any) -> str:
    """An HS256 JWT signed with the real key, built by hand: PyJWT's encoder refuses some of
    the payloads (a non-string iss), and the server must not rely on every signer doing so.
    json.dumps writes inf, nan and 10**400 as numbers the decoder reads back."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(payload).encode())
    mac = hmac.new(settings.SECRET_KEY.encode(), f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{_b64(mac.digest())}"


def _assert_invalid_token(response: httpx.Response, what: str) -> None:
    assert response.status_code == 401, (what, response.text)
    body = response.json()
    assert body["code"] == "invalid_token", (what, body)
    assert response.headers["www-authenticate"].startswith("Bearer"), what
    assert not any(word in body["detail"] for word in LEAKS), (what, body["detail"])


async def _user(db: AsyncSession) -> User:
    return await make_user(db, await make_org(db), Role.ADMIN)


async def test_the_unaltered_token_works(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    """The matrix below changes one claim of this token: without the change it passes."""
    user = await _user(db)
    token = _sign(settings, _claims(settings, user))
    response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("claim", CLAIMS)
async def test_a_signed_token_with_a_claim_of_the_wrong_type_is_invalid(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, claim: str
) -> None:
    user = await _user(db)
    for value in WRONG:
        if claim == "jti" and value in JTI_SHAPED:
            continue  # any short id of letters and digits is a token id
        token = _sign(settings, {**_claims(settings, user), claim: value})
        response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
        _assert_invalid_token(response, f"{claim}={value!r:.40}")


async def test_a_token_whose_claims_are_not_an_object_is_invalid(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for payload in ([1, 2], "claims", 7, None):
        token = _sign(settings, payload)
        response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
        _assert_invalid_token(response, repr(payload))


ODD_BEARERS: list[bytes] = [
    b"ffk_",
    b"ffk__",
    b"ffk_abcdefgh",
    b"ffk_abcdefgh_",
    b"ffk_abcdefgh_" + b"s" * 10,
    b"ffk_" + b"p" * 5000 + b"_" + b"s" * 43,
    b"ffk_abcdefgh_" + b"s" * 5000,
    b"ffk_abc\xe9defg_" + b"s" * 43,
    b"ffk_abcdefgh_" + b"s" * 42 + b"\xff",
    b"ffk_abcdefgh_" + b"s" * 42 + b"\x7f",
    b"ffk_ab%cdefg_" + b"s" * 43,
    b"FFK_abcdefgh_" + b"s" * 43,
    b"ffr_" + b"r" * 43,
    b"x" * 8000,
    b"a.b.c",
    b"\xc3\xa9.\xc3\xa9.\xc3\xa9",
    b"eyJhbGciOiJIUzI1NiJ9." * 3,
]


@pytest.mark.parametrize("bearer", ODD_BEARERS, ids=lambda b: repr(b[:24]))
async def test_odd_api_keys_and_tokens_are_invalid(
    client: httpx.AsyncClient, bearer: bytes
) -> None:
    response = await client.get(PROTECTED, headers={b"Authorization": b"Bearer " + bearer})
    _assert_invalid_token(response, repr(bearer[:40]))


@pytest.mark.parametrize(
    "token",
    [
        "ffr_" + "r" * 43,
        "ffk_abcdefgh_" + "s" * 43,
        "x" * 200,
        "管理员" * 60,
        "😀" * 50,
        "a b\tc\nd" * 20,
    ],
)
async def test_odd_refresh_tokens_are_invalid(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"


@pytest.mark.parametrize(
    "form",
    [
        {"username": "管理员@例子.公司", "password": "密码" * 10},
        {"username": "😀" * 254, "password": "😀" * 200},
        {"username": "a\x01b@example.com", "password": "\x7f" * 10},
        {"username": "", "password": ""},
        {"username": " ", "password": " "},
    ],
    ids=["cjk", "emoji-at-the-limits", "control", "empty", "blank"],
)
async def test_odd_login_forms_are_refused_cleanly(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code in (401, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "form",
    [{"username": "u" * 255, "password": "p"}, {"username": "u@x.com", "password": "p" * 201}],
    ids=["long-username", "long-password"],
)
async def test_login_fields_past_their_limit_are_a_validation_error(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
