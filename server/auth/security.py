"""Password hashing (argon2id), access tokens (JWT, HS256) and opaque secrets."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.config import Settings

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the e-mail is unknown, so a missing user costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("fixflow-dummy-password")

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


def decode_access_token(settings: Settings, token: str) -> dict[str, Any]:
    """Decode and verify; raises jwt.PyJWTError on any defect (alg none, expiry, audience...)."""
    claims: dict[str, Any] = jwt.decode(
        token,
        settings.SECRET_KEY,
        algorithms=["HS256"],
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
        options={"require": REQUIRED_CLAIMS},
    )
    return claims


def new_secret(prefix: str) -> str:
    """An opaque secret such as ``ffk_<id>_<random>`` (API keys) or ``ffr_...`` (refresh)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret: enough for lookup, nothing to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()
