"""The phone's claim against a server that behaves as the claim endpoint promises (one
winner, 409 ``already_claimed`` for the others, answers stored by Idempotency-Key): the
outcomes on the phone, a claim refused offline with nothing queued, and an answer lost
after the server claimed (the job stays in the pool; the retry is the same request and
gets the same answer). The real endpoint is in tests/mobile/e2e/test_claim.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile.store import Store
from mobile.store.core import ACCESS_EXPIRES_AT, ACCESS_TOKEN, REFRESH_TOKEN
from mobile.sync import Claimed, Refused, SyncEngine, Transient
from shared.ids import uuid7
from tests.mobile.helpers import page, put

ME, COLLEAGUE = "engineer-me", "engineer-colleague"


@dataclass
class ClaimServer:
    """``POST /api/v1/tickets/{id}/claim``: the first engineer gets it; answers are kept
    by Idempotency-Key; ``offline`` fails before the server, ``lose_answers`` after it."""

    owner: dict[str, str] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    keys: list[str | None] = field(default_factory=list)
    offline: bool = False
    lose_answers: int = 0
    forbidden: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("no network", request=request)
        key = request.headers.get("Idempotency-Key")
        self.keys.append(key)
        if key is None or request.method != "POST":
            return httpx.Response(400, json={"code": "bad_request"})
        if self.forbidden:
            return httpx.Response(403, json={"code": "forbidden", "detail": "engineers only"})
        if key not in self.answers:
            self.answers[key] = self._claim(request.url.path.split("/")[-2], ME)
        status, body = self.answers[key]
        if self.lose_answers:
            self.lose_answers -= 1
            raise httpx.ReadError("connection reset after the commit", request=request)
        return httpx.Response(status, json=body)

    def _claim(self, ticket_id: str, who: str) -> tuple[int, dict[str, Any]]:
        if ticket_id in self.closed:
            return 409, {"code": "not_open_for_claim", "detail": "not open for claim"}
        if ticket_id in self.owner:
            return 409, {"code": "already_claimed", "detail": "already claimed"}
        self.owner[ticket_id] = who
        return 200, {"id": ticket_id, "assignee_id": who, "status": "accepted"}


@pytest.fixture
def server() -> ClaimServer:
    return ClaimServer()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "phone.sqlite3")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    s.set_meta(**{ACCESS_TOKEN: "a", REFRESH_TOKEN: "r", ACCESS_EXPIRES_AT: later.isoformat()})
    yield s
    s.close()


@pytest.fixture
async def engine(store: Store, server: ClaimServer) -> Any:
    phone = SyncEngine(store, base_url="http://test", transport=httpx.MockTransport(server.handle))
    yield phone
    await phone.aclose()


def _pool(store: Store, *numbers: int) -> list[str]:
    ids = []
    for n in numbers:
        row = {"id": str(uuid7()), "number": f"WO-{n:06d}", "priority": "P2", "title": "Leak"}
        store.apply_page(page(put("claimable", row), cursor=f"c{n}"))
        ids.append(row["id"])
    return ids


async def test_a_claim_won_leaves_the_pool_and_one_lost_leaves_it_too(
    engine: SyncEngine, store: Store, server: ClaimServer
) -> None:
    won, lost, closed = _pool(store, 1, 2, 3)
    server.owner[lost] = COLLEAGUE
    server.closed.add(closed)

    assert await engine.claim(won) is Claimed.YOURS
    assert await engine.claim(lost) is Claimed.TAKEN
    assert await engine.claim(closed) is Claimed.CLOSED
    assert store.claimables() == []
    assert server.owner[won] == ME and server.owner[lost] == COLLEAGUE
    assert store.pending_count() == 0  # nothing went to the outbox
    assert len(set(server.keys)) == 3 and None not in server.keys


async def test_offline_the_claim_is_refused_at_once_and_nothing_is_queued(
    engine: SyncEngine, store: Store, server: ClaimServer
) -> None:
    [job] = _pool(store, 4)
    server.offline = True
    with pytest.raises(Transient) as refused:
        await engine.claim(job)
    assert isinstance(refused.value.__cause__, httpx.ConnectError)
    assert server.owner == {}
    assert [r["id"] for r in store.claimables()] == [job]
    assert store.pending_count() == 0 and store.outbox() == []


async def test_an_answer_lost_after_the_claim_leaves_nothing_half_claimed_and_the_retry_is_safe(
    engine: SyncEngine, store: Store, server: ClaimServer
) -> None:
    [job] = _pool(store, 5)
    server.lose_answers = 1
    with pytest.raises(Transient):
        await engine.claim(job)
    # The server claimed it for us; the phone does not know: the job is still just in the
    # pool, with the claim's key kept.
    assert server.owner == {job: ME}
    assert [r["id"] for r in store.claimables()] == [job] and store.pending_claim(job)
    assert store.get("work_order", job) is None

    # The retry is the same request: the stored answer, not a 409 against ourselves.
    assert await engine.claim(job) is Claimed.YOURS
    assert server.keys[0] == server.keys[1]
    assert store.claimables() == []


async def test_another_refusal_keeps_the_job_in_the_pool(
    engine: SyncEngine, store: Store, server: ClaimServer
) -> None:
    [job] = _pool(store, 6)
    server.forbidden = True
    with pytest.raises(Refused) as refused:
        await engine.claim(job)
    assert refused.value.status == 403 and refused.value.problem["code"] == "forbidden"
    assert [r["id"] for r in store.claimables()] == [job] and not store.pending_claim(job)
