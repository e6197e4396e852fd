"""Password hashing (argon2id), access tokens (JWT, HS256) and opaque secrets.

An argon2id hash or verification takes 100-200 ms of CPU and 64 MiB of memory by design.
Async code calls :func:`hash_password_async` / :func:`verify_password_async`, which run it
on a small thread pool of its own (the hash releases the GIL): the event loop keeps
serving every other request meanwhile, at most ``PASSWORD_HASH_THREADS`` hashes run at
once per process (memory stays bounded), and the pool the rest of the app uses for its
blocking work (anyio's, for PDF and image work) is not taken. At most
``PASSWORD_HASH_QUEUE`` more wait for a thread; past that a caller gets 503 with
Retry-After: each waiting request holds a database connection, and a burst of logins must
not take the whole pool from everyone else. The synchronous functions are for scripts and
tests that have no event loop to protect.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.config import Settings, get_settings
from server.errors import Unavailable

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the e-mail is unknown, so a missing user costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("fixflow-dummy-password")

# We issue 16 hex digits; anything in this shape is accepted, nothing else.
_JTI = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
REQUIRED_CLAIMS = ["sub", "org", "role", "exp", "iat", "iss", "aud", "jti"]

T = TypeVar("T")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


class HashingBusy(Unavailable):
    code, title = "hashing_busy", "Too many password checks at once"


class HashPool:
    """A bounded thread pool for password hashing (see the module docstring)."""

    def __init__(self, *, threads: int, queue: int) -> None:
        self.threads, self.queue = threads, queue
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="password-hash")
        self._lock = threading.Lock()  # callers may sit on several event loops (tests, CLI)
        self.in_flight = 0

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if self.in_flight >= self.threads + self.queue:
                busy = HashingBusy("too many password checks at this moment; retry in a second")
                busy.headers["Retry-After"] = "1"
                raise busy
            self.in_flight += 1
        # A caller cancelled while waiting frees its place at once; its hash may still run,
        # but never more than ``threads`` at a time: the memory bound holds.
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)
        finally:
            with self._lock:
                self.in_flight -= 1


_pool: HashPool | None = None


def hash_pool() -> HashPool:
    """The process's pool, sized from the settings on first use (each uvicorn worker is a
    process of its own, with a pool of its own)."""
    global _pool
    if _pool is None:
        settings = get_settings()
        _pool = HashPool(threads=settings.PASSWORD_HASH_THREADS, queue=settings.PASSWORD_HASH_QUEUE)
    return _pool


async def hash_password_async(password: str) -> str:
    return await hash_pool().run(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await hash_pool().run(verify_password, password_hash, password)


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
