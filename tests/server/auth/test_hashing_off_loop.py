"""Password hashing runs off the event loop, on a bounded pool of its own.

Each test holds the hash inside its worker thread (a ``threading.Event``) until a cheap
request has completed. Were the hash run on the event loop, that request could not be
served until the hash finished: the hold would run out (a deadlock breaker, not a timing
check) and the test sees the hash released by the timeout, not by the request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from server.auth import security
from tests.fixtures.factories import PASSWORD, make_tenant

TOKEN = "/api/v1/auth/token"
HOLD_LIMIT_S = 10  # breaks the deadlock a hash on the event loop would cause


@dataclass
class Held:
    """Wraps one of security's synchronous hash functions: signals when a hash starts, then
    waits to be released before hashing."""

    original: Callable[..., Any]
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    released_in_time: list[bool] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        self.threads.append(threading.current_thread().name)
        self.started.set()
        self.released_in_time.append(self.release.wait(HOLD_LIMIT_S))
        return self.original(*args)


@pytest.fixture
def fresh_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(security, "_pool", security.HashPool(threads=2, queue=4))
    yield


def hold(monkeypatch: pytest.MonkeyPatch, name: str) -> Held:
    held = Held(getattr(security, name))
    monkeypatch.setattr(security, name, held)
    return held


async def _while_hashing(
    client: httpx.AsyncClient, held: Held, request: Any
) -> tuple[httpx.Response, httpx.Response]:
    """Send ``request`` (the hashing one), and once its hash has started a cheap GET /health;
    release the hash only when /health has answered."""
    task = asyncio.create_task(request)
    try:
        assert await asyncio.to_thread(held.started.wait, HOLD_LIMIT_S)
        health = await client.get("/health")
    finally:
        held.release.set()
    return await task, health


async def test_login_verifies_the_password_off_the_event_loop(
    client: httpx.AsyncClient, db: Any, monkeypatch: pytest.MonkeyPatch, fresh_pool: None
) -> None:
    t = await make_tenant(db)
    held = hold(monkeypatch, "verify_password")
    login = client.post(TOKEN, data={"username": t.users["agent"].email, "password": PASSWORD})
    answered, health = await _while_hashing(client, held, login)
    assert health.status_code == 200
    assert answered.status_code == 200, answered.text
    assert held.released_in_time == [True]  # /health was served while the hash was held
    assert held.threads[0].startswith("password-hash")


async def test_unknown_email_still_verifies_against_the_dummy_hash(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, fresh_pool: None
) -> None:
    held = hold(monkeypatch, "verify_password")
    held.release.set()
    answered = await client.post(TOKEN, data={"username": "nobody@x.test", "password": "x" * 12})
    assert answered.status_code == 401
    # The same argon2 verification runs for a missing user as for a wrong password.
    assert held.calls == [(None, "x" * 12)]
    assert held.threads[0].startswith("password-hash")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/users",
            {
                "email": "new.agent@example.com",
                "full_name": "New",
                "password": "a-long-secret-1",
                "role": "agent",
            },
        ),
        (
            "/api/v1/engineers",
            {
                "email": "new.engineer@example.com",
                "password": "a-long-secret-1",
                "display_name": "New engineer",
                "skills": {"hvac": 2},
            },
        ),
    ],
)
async def test_creating_a_login_hashes_the_password_off_the_event_loop(
    client: httpx.AsyncClient,
    db: Any,
    monkeypatch: pytest.MonkeyPatch,
    fresh_pool: None,
    path: str,
    body: dict[str, Any],
) -> None:
    t = await make_tenant(db)
    held = hold(monkeypatch, "hash_password")
    created = client.post(path, json=body, headers=t.headers("admin"))
    answered, health = await _while_hashing(client, held, created)
    assert health.status_code == 200
    assert answered.status_code == 201, answered.text
    assert held.released_in_time == [True]


async def test_a_burst_past_the_queue_is_refused_with_503_and_retry_after(
    client: httpx.AsyncClient, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = await make_tenant(db)
    monkeypatch.setattr(security, "_pool", security.HashPool(threads=1, queue=0))
    held = hold(monkeypatch, "verify_password")
    first = asyncio.create_task(
        client.post(TOKEN, data={"username": t.users["agent"].email, "password": PASSWORD})
    )
    assert await asyncio.to_thread(held.started.wait, HOLD_LIMIT_S)
    try:
        second = await client.post(
            TOKEN, data={"username": t.users["viewer"].email, "password": PASSWORD}
        )
    finally:
        held.release.set()
    assert second.status_code == 503, second.text
    assert second.headers["content-type"] == "application/problem+json"
    assert second.headers["retry-after"] == "1"
    assert second.json()["code"] == "hashing_busy"
    assert (await first).status_code == 200
    assert len(held.calls) == 1  # the refused one never reached a hasher


async def test_the_pool_runs_at_most_its_threads_at_once() -> None:
    pool = security.HashPool(threads=2, queue=3)
    gate = threading.Event()
    running = {"now": 0, "most": 0}
    lock = threading.Lock()

    def work() -> None:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        gate.wait(HOLD_LIMIT_S)
        with lock:
            running["now"] -= 1

    tasks = [asyncio.create_task(pool.run(work)) for _ in range(5)]
    await asyncio.sleep(0)
    with pytest.raises(security.HashingBusy):
        await pool.run(work)  # 2 running + 3 waiting: the sixth is refused
    gate.set()
    await asyncio.gather(*tasks)
    assert running["most"] == 2
    assert pool.in_flight == 0
    await pool.run(work)  # room again once they finished
