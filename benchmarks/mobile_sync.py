"""Syncing a phone's queue with the real server, for ``bench_mobile``.

The phone: ``mobile.store.Store`` + ``mobile.sync.SyncEngine`` over ``CountingTransport``,
logged in with the engineer's e-mail and password (``POST /auth/token``), its snapshot
pulled; the queue is played offline onto the store, then ``sync_once()`` runs until no
mutation is unanswered: the pushes (batches of ``MAX_MUTATIONS_PER_PUSH``), then the pull
that brings their effects and acknowledgements back into the store.

The baseline: a bare ``httpx.AsyncClient`` for another engineer of the same organisation,
logged in the same way, its installation registered and its cursor brought up to date
beforehand; it posts the same plan's mutations (``mobile_plan.bare_mutations``) to
``POST /sync/push`` in the same batch sizes, then pulls the feed until ``has_more`` is
false, keeping nothing: the HTTP and the server's work, without the store.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.mobile_plan import CountingTransport, Exchange, PhoneDriver, Step, bare_mutations
from benchmarks.mobile_seed import PASSWORD
from mobile.store import Store
from mobile.sync import SyncEngine
from shared.ids import uuid7
from shared.sync import MAX_MUTATIONS_PER_PUSH

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"
DEVICE = "bench desktop"


async def phone(base_url: str, data: Path, email: str) -> tuple[Store, SyncEngine, float]:
    """A phone logged in as ``email`` with its snapshot pulled; the seconds that took."""
    data.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (set-up, not measured)
    store = Store(data / "fixflow.sqlite3")
    transport = CountingTransport()
    engine = SyncEngine(store, base_url=base_url, transport=transport, device=DEVICE, timeout=120)
    started = time.perf_counter()
    await engine.login(email, PASSWORD)
    await engine.sync_once()
    return store, engine, time.perf_counter() - started


@dataclass
class BareClient:
    http: httpx.AsyncClient
    transport: CountingTransport
    client_id: str = field(default_factory=lambda: str(uuid7()))
    cursor: str | None = None
    seq: int = 0

    @classmethod
    async def login(cls, base_url: str, email: str) -> BareClient:
        """Log in, register, pull to the present (the snapshot, discarded)."""
        transport = CountingTransport()
        http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=120)
        token = await http.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
        token.raise_for_status()
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        client = cls(http, transport)
        answer = await http.post(
            "/api/v1/sync/clients", json={"client_id": client.client_id, "device": DEVICE}
        )
        answer.raise_for_status()
        await client.pull()
        transport.take()
        return client

    async def push(self, mutations: list[dict[str, Any]]) -> None:
        body = {
            "client_id": self.client_id,
            "mutations": mutations,
            "sent_at": dt.datetime.now().astimezone().isoformat(),
        }
        response = await self.http.post(PUSH, json=body)
        response.raise_for_status()
        answer = response.json()
        refused = [r for r in answer["results"] if r["outcome"] != "applied"]
        if refused or len(answer["results"]) != len(mutations):
            raise RuntimeError(f"the bare push was not applied: {(refused or answer)!r:.500}")

    async def pull(self) -> int:
        changes = 0
        while True:
            params: dict[str, Any] = {"client_id": self.client_id}
            if self.cursor:
                params["cursor"] = self.cursor
            response = await self.http.get(PULL, params=params)
            response.raise_for_status()
            page = response.json()
            self.cursor = page["cursor"]
            changes += len(page["changes"])
            if not page["has_more"]:
                return changes

    async def aclose(self) -> None:
        await self.http.aclose()


def _wire(exchanges: list[Exchange], started: float, ended: float) -> dict[str, Any]:
    """Time and bytes of a sync, split at its first pull request (push, then pull)."""
    pushes = [e for e in exchanges if e.path == PUSH]
    pulls = [e for e in exchanges if e.path == PULL]
    pull_start = pulls[0].started if pulls else ended

    def waited(phase: list[Exchange]) -> float:
        return sum(e.ended - e.started for e in phase)

    return {
        "s": round(ended - started, 3),
        "push_phase_s": round(pull_start - started, 3),
        "pull_phase_s": round(ended - pull_start, 3),
        # the phase's time outside HTTP requests: the client's own work (the store's, for
        # the phone)
        "push_phase_outside_requests_s": round(pull_start - started - waited(pushes), 3),
        "pull_phase_outside_requests_s": round(ended - pull_start - waited(pulls), 3),
        "requests": len(exchanges),
        "pushes": len(pushes),
        "pulls": len(pulls),
        "request_body_bytes": sum(e.request_body for e in exchanges),
        "push_body_bytes": sum(e.request_body for e in pushes),
        "response_body_bytes": sum(e.response_body for e in exchanges),
        "in_requests_s": round(sum(e.ended - e.started for e in exchanges), 3),
    }


async def sync_phone(store: Store, engine: SyncEngine, steps: list[Step]) -> dict[str, Any]:
    """Play the steps offline, then sync until nothing is unanswered; every mutation must
    be applied by the server."""
    played = time.perf_counter()
    driver = PhoneDriver(store)
    for step in steps:
        driver.play(step)
    queued_s = time.perf_counter() - played
    transport = engine.http._transport
    assert isinstance(transport, CountingTransport)
    transport.take()
    first = store.last_seq + 1
    started = time.perf_counter()
    rounds = 0
    while store.pending_count() and rounds < 5:
        await engine.sync_once()
        rounds += 1
    ended = time.perf_counter()
    outcomes = {e.state for e in store.outbox() if e.seq >= first}
    if store.pending_count() or outcomes != {"applied"}:
        raise RuntimeError(f"the phone's queue did not sync: {outcomes}, {store.pending_count()}")
    result = _wire(transport.take(), started, ended)
    return result | {"sync_once_calls": rounds, "queued_offline_s": round(queued_s, 3)}


async def sync_bare(client: BareClient, steps: list[Step]) -> dict[str, Any]:
    mutations = list(bare_mutations(steps, client.seq + 1))
    client.transport.take()
    started = time.perf_counter()
    for at in range(0, len(mutations), MAX_MUTATIONS_PER_PUSH):
        await client.push(mutations[at : at + MAX_MUTATIONS_PER_PUSH])
    changes = await client.pull()
    ended = time.perf_counter()
    client.seq += len(mutations)
    return _wire(client.transport.take(), started, ended) | {"changes_pulled": changes}
