"""The simulated users of the load benchmark (``bench_load``): phones, office users and
integrators, and the recorder of every request they make.

- **Phone** (an engineer's installation): syncs every 10-20 s (uniform, mean 15 s): a pull
  (pages until ``has_more`` is false), then, when it has queued mutations, a push. On
  about 40 % of its syncs it has queued 1-3 new mutations, the next ones of a day of
  visits on its work orders (travel labour, check-in with GPS, three checklist answers, a
  note, work labour, check-out: benchmarks/bench_sync_push.py ``visit_mutations``), and
  notes on its last work order once the visits are done. A push answered 503 is sent
  again at the next sync (as the phone's outbox does).
- **Office** (dispatchers and agents): one action every 2-8 s: the dispatch board (open
  work orders, newest first), a text search, a work order's page, creating a work order,
  editing one they created (``If-Match``), and for dispatchers assigning one they created
  to an engineer (whose phone then pulls it).
- **Integrator** (an API key): a read every 1.5-2.5 s: the latest work orders (a page of
  100), a work order, the customers.

Every request is recorded with its start time, latency, status and class (read = GET,
write = POST/PATCH; a phone's pull and push are also "sync" requests, and each whole sync
is recorded on its own).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.bench_sync_push import visit_mutations
from benchmarks.loopback import Connection, Response
from benchmarks.sync_seed import WorkOrder
from shared.ids import uuid7
from shared.sync import Mutation, check_args

TZ = dt.timezone(dt.timedelta(hours=8))
SYNC_MIN_S, SYNC_MAX_S = 10.0, 20.0
PUSH_SHARE = 0.4  # of a phone's syncs that carry new mutations
OFFICE_MIN_S, OFFICE_MAX_S = 2.0, 8.0
INTEGRATOR_MIN_S, INTEGRATOR_MAX_S = 1.5, 2.5


@dataclass(slots=True)
class Sample:
    started: float  # time.monotonic() at the start
    seconds: float
    kind: str  # read | write | sync (a whole phone sync)
    what: str  # pull, push, board, search, ticket, create, edit, assign, ...
    status: int  # 0: no answer (connection error or timeout)


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    rejected_mutations: int = 0
    stop: bool = False

    async def call(
        self,
        conn: Connection,
        what: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes = b"",
    ) -> Response | None:
        kind = "read" if method == "GET" else "write"
        started = time.monotonic()
        try:
            response = await conn.request(method, path, headers, body)
        except Exception:  # no answer: a reset, a timeout, a malformed response
            self.samples.append(Sample(started, time.monotonic() - started, kind, what, 0))
            return None
        self.samples.append(
            Sample(started, time.monotonic() - started, kind, what, response.status)
        )
        return response


def _json_headers(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


# --------------------------------------------------------------------------- phones


@dataclass
class Phone:
    client_id: uuid.UUID
    token: str
    cursor: str
    work_orders: list[WorkOrder]
    items: list[tuple[uuid.UUID, str]]  # the checklist's items
    conn: Connection
    rng: random.Random
    script: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    pending: list[Mutation] = field(default_factory=list)
    seq: int = 0
    syncs: int = 0

    def __post_init__(self) -> None:
        start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)
        for n, wo in enumerate(self.work_orders):
            self.script += visit_mutations(wo, self.items, start + dt.timedelta(hours=n))
        self.script.reverse()  # popped from the end

    def _next_mutation(self) -> Mutation:
        if self.script:
            name, args, when = self.script.pop()
        else:  # the day's visits are done: notes on the last work order
            wo = self.work_orders[-1]
            name, when = "note.add", dt.datetime.now(TZ).isoformat()
            args = check_args(
                name,
                {
                    "work_order_id": str(wo.id),
                    "note_id": str(uuid7()),
                    "text": f"Customer asked for a follow-up call ({self.seq}).",
                },
            )
        self.seq += 1
        return Mutation(self.seq, str(uuid7()), name, args, when)

    async def sync(self, rec: Recorder) -> None:
        started = time.monotonic()
        ok = await self._pull(rec)
        if self.rng.random() < PUSH_SHARE:
            self.pending += [self._next_mutation() for _ in range(self.rng.randint(1, 3))]
        if ok and self.pending:
            ok = await self._push(rec)
        status = 200 if ok else 0
        rec.samples.append(Sample(started, time.monotonic() - started, "sync", "sync", status))
        self.syncs += 1

    async def _pull(self, rec: Recorder) -> bool:
        headers = {"Authorization": f"Bearer {self.token}"}
        while True:
            query = urllib.parse.urlencode({"client_id": self.client_id, "cursor": self.cursor})
            answer = await rec.call(self.conn, "pull", "GET", f"/api/v1/sync/pull?{query}", headers)
            if answer is None or answer.status != 200:
                return False
            page = json.loads(answer.body)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return True

    async def _push(self, rec: Recorder) -> bool:
        body = {
            "client_id": str(self.client_id),
            "sent_at": dt.datetime.now(TZ).isoformat(),
            "mutations": [m.to_json() for m in self.pending],
        }
        answer = await rec.call(
            self.conn, "push", "POST", "/api/v1/sync/push", _json_headers(self.token), _dumps(body)
        )
        if answer is None or answer.status not in (200, 503):
            return False
        result = json.loads(answer.body)
        last = result.get("last_seq", 0)
        rec.rejected_mutations += sum(1 for r in result["results"] if r["outcome"] != "applied")
        self.pending = [m for m in self.pending if m.seq > last]
        return answer.status == 200

    async def run(self, rec: Recorder, first_delay: float) -> None:
        await asyncio.sleep(first_delay)
        while not rec.stop:
            started = time.monotonic()
            await self.sync(rec)
            interval = self.rng.uniform(SYNC_MIN_S, SYNC_MAX_S)
            await asyncio.sleep(max(0.0, started + interval - time.monotonic()))
        await self.conn.close()


# --------------------------------------------------------------------------- the office


@dataclass
class OrgData:
    """What office users and integrators pick from."""

    customers: list[tuple[uuid.UUID, uuid.UUID]]  # (customer, site)
    engineer_ids: list[uuid.UUID]
    ticket_ids: list[uuid.UUID]  # seeded work orders (read by id)
    words: tuple[str, ...] = ("E31", "pressure", "chiller", "leak", "noise", "WO-00")


@dataclass
class Office:
    token: str
    dispatcher: bool
    org: OrgData
    conn: Connection
    rng: random.Random
    mine: list[tuple[uuid.UUID, int, bool]] = field(default_factory=list)  # (id, version, new)

    def _actions(self) -> list[tuple[Callable[[Recorder], Any], float]]:
        weights = [
            (self.board, 0.30),
            (self.search, 0.15),
            (self.ticket, 0.15),
            (self.create, 0.15),
            (self.edit, 0.15),
        ]
        if self.dispatcher:
            weights.append((self.assign, 0.10))
        return weights

    async def board(self, rec: Recorder) -> None:
        path = "/api/v1/tickets?status=new&status=assigned&status=accepted&limit=50"
        await rec.call(self.conn, "board", "GET", path, {"Authorization": f"Bearer {self.token}"})

    async def search(self, rec: Recorder) -> None:
        q = urllib.parse.quote(self.rng.choice(self.org.words))
        path = f"/api/v1/tickets?q={q}&limit=20"
        await rec.call(self.conn, "search", "GET", path, {"Authorization": f"Bearer {self.token}"})

    async def ticket(self, rec: Recorder) -> None:
        pool = [t for t, _, _ in self.mine[-20:]] + self.org.ticket_ids
        path = f"/api/v1/tickets/{self.rng.choice(pool)}"
        await rec.call(self.conn, "ticket", "GET", path, {"Authorization": f"Bearer {self.token}"})

    async def create(self, rec: Recorder) -> None:
        customer, site = self.rng.choice(self.org.customers)
        body = {
            "customer_id": str(customer),
            "site_id": str(site),
            "channel": "phone",
            "priority": self.rng.choice(("P1", "P2", "P3", "P3", "P4")),
            "title": f"Chiller alarm E31 at site {str(site)[-4:]}",
            "description": "The customer reports the unit trips on high pressure every hour.",
        }
        answer = await rec.call(
            self.conn, "create", "POST", "/api/v1/tickets", _json_headers(self.token), _dumps(body)
        )
        if answer is not None and answer.status == 201:
            made = json.loads(answer.body)
            self.mine.append((uuid.UUID(made["id"]), made["version"], True))

    async def edit(self, rec: Recorder) -> None:
        if not self.mine:
            return await self.create(rec)
        index = self.rng.randrange(max(0, len(self.mine) - 20), len(self.mine))
        ticket_id, version, new = self.mine[index]
        body = {"description": f"Customer called again at {dt.datetime.now(TZ):%H:%M}."}
        headers = _json_headers(self.token, **{"If-Match": f'"v{version}"'})
        answer = await rec.call(
            self.conn, "edit", "PATCH", f"/api/v1/tickets/{ticket_id}", headers, _dumps(body)
        )
        if answer is not None and answer.status == 200:
            self.mine[index] = (ticket_id, json.loads(answer.body)["version"], new)
        return None

    async def assign(self, rec: Recorder) -> None:
        waiting = [i for i, (_, _, new) in enumerate(self.mine) if new]
        if not waiting:
            return await self.create(rec)
        index = waiting[-1]
        ticket_id, _, _ = self.mine[index]
        body = {"action": "assign", "engineer_id": str(self.rng.choice(self.org.engineer_ids))}
        answer = await rec.call(
            self.conn,
            "assign",
            "POST",
            f"/api/v1/tickets/{ticket_id}/transitions",
            _json_headers(self.token),
            _dumps(body),
        )
        if answer is not None and answer.status == 200:
            self.mine[index] = (ticket_id, json.loads(answer.body)["version"], False)
        return None

    async def run(self, rec: Recorder) -> None:
        actions, weights = zip(*self._actions(), strict=True)
        await asyncio.sleep(self.rng.uniform(0, OFFICE_MAX_S))
        while not rec.stop:
            await self.rng.choices(actions, weights)[0](rec)
            await asyncio.sleep(self.rng.uniform(OFFICE_MIN_S, OFFICE_MAX_S))
        await self.conn.close()


@dataclass
class Integrator:
    key: str
    org: OrgData
    conn: Connection
    rng: random.Random

    async def run(self, rec: Recorder) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        await asyncio.sleep(self.rng.uniform(0, INTEGRATOR_MAX_S))
        while not rec.stop:
            choice = self.rng.random()
            if choice < 0.5:
                what, path = "feed", "/api/v1/tickets?sort=-created_at&limit=100"
            elif choice < 0.8:
                what, path = "ticket", f"/api/v1/tickets/{self.rng.choice(self.org.ticket_ids)}"
            else:
                what, path = "customers", "/api/v1/customers?limit=100"
            await rec.call(self.conn, f"integrator_{what}", "GET", path, headers)
            await asyncio.sleep(self.rng.uniform(INTEGRATOR_MIN_S, INTEGRATOR_MAX_S))
        await self.conn.close()
