"""Password hashing (argon2id), access tokens (JWT, HS256) and opaque secrets."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.config import Settings

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the e-mail is unknown, so a missing user costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("fixflow-dummy-password")

# We issue 16 hex digits; anything in this shape is accepted, nothing else.
_JTI = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
REQUIRED_CLAIMS = ["sub", "org", "role", "exp", "iat", "iss", "aud", "jti"]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(
    settings: Settings, *, user_id: uuid.UUID, org_id: uuid.UUID, role: str, now: dt.datetime
) -> tuple[str, int]:
    ttl = dt.timedelta(minutes=settings.ACCESS_TOKEN_MINUTES)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "org": str(org_id),
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, settings.SECRET_KEY, algorithm="HS256"), int(ttl.total_seconds())


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says, each claim of the type it must have."""

    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str


class TokenRejected(Exception):
    """The access token is not usable. The message is ours (safe to show the caller), never
    the library's or the parser's: those name internal types and values."""


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify the signature and the registered claims, then the type of every claim we
    read. A correctly signed token can still carry ``"org": 123``: our own signing key in
    the wrong hands or a bug elsewhere must not turn into a 500, so every claim is checked."""
    try:
        claims: Any = jwt.decode(
            token,
            settings.SECRET_KEY,
            algorithms=["HS256"],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={"require": REQUIRED_CLAIMS, "strict_aud": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenRejected("the access token has expired; refresh it") from exc
    # PyJWT's own checks may raise more than PyJWTError on a hostile payload.
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
        raise TokenRejected("the access token is malformed, tampered with or not ours") from exc
    return _typed_claims(claims, max_lifetime=settings.ACCESS_TOKEN_MINUTES * 60)


def _typed_claims(claims: Any, *, max_lifetime: int) -> AccessClaims:
    if not isinstance(claims, dict):
        raise TokenRejected("the access token's claims are not an object")
    for name in ("iat", "exp"):
        value = claims.get(name)
        # Seconds since 1970 that JSON numbers hold exactly; 10**400 is no time at all.
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
            raise TokenRejected(f"the access token's {name} claim is not a time in seconds")
    # We issue tokens that live ACCESS_TOKEN_MINUTES; one that claims a longer life (or an
    # issue time in 1970) was not issued under these settings.
    if not 0 < claims["exp"] - claims["iat"] <= max_lifetime:
        raise TokenRejected("the access token's lifetime is not one we issue; log in again")
    for name in ("role", "iss", "aud"):
        if not isinstance(claims.get(name), str):
            raise TokenRejected(f"the access token's {name} claim is not a string")
    if not isinstance(claims.get("jti"), str) or not _JTI.fullmatch(claims["jti"]):
        raise TokenRejected("the access token's jti claim is not a token id")
    return AccessClaims(
        user_id=_uuid_claim(claims, "sub"), org_id=_uuid_claim(claims, "org"), role=claims["role"]
    )


def _uuid_claim(claims: dict[str, Any], name: str) -> uuid.UUID:
    value = claims.get(name)
    # The canonical 36-character form only: uuid.UUID also takes braces, "urn:uuid:" and
    # 32 bare hex digits, none of which we issue.
    if not isinstance(value, str) or len(value) != 36:
        raise TokenRejected(f"the access token's {name} claim is not an id")
    try:
        parsed = uuid.UUID(value)
    except ValueError as exc:
        raise TokenRejected(f"the access token's {name} claim is not an id") from exc
    if str(parsed) != value.lower():
        raise TokenRejected(f"the access token's {name} claim is not an id")
    return parsed


def new_secret(prefix: str) -> str:
    """An opaque secret such as ``ffk_<id>_<random>`` (API keys) or ``ffr_...`` (refresh)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret: enough for lookup, nothing to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()
