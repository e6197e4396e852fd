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
import secrets
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.config import Settings, get_settings
from server.errors import Unavailable

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the e-mail is unknown, so a missing user costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("fixflow-dummy-password")

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
