"""The engineer's taps for ``bench_mobile``: one plan of steps, played either on the phone's
``Store`` (the app's write path: local effect + outbox row in one transaction) or turned
straight into the protocol's mutations (``shared.sync``), for the bare baselines; and an
httpx transport that counts what crosses the wire.

Per work order (``assigned``): accept, start travel, then per visit the day of a visit as
``bench_sync_push`` queues it: a travel ``labour.add``, ``visit.check_in`` (GPS near the
site), three ``checklist.answer`` (yes/no, number, text), ``note.add``, a work
``labour.add`` and ``visit.check_out``: 2 + 8 x visits mutations.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.sync_seed import WorkOrder
from mobile.store import Store
from shared.ids import uuid7
from shared.sync import check_args

PER_VISIT = 8
NOTE = "Replaced the contactor, reset the pressure switch, ran 30 minutes. 压力开关已复位。"
OBSERVATION = "Condenser coil cleaned; no refrigerant leak found."


@dataclass(frozen=True)
class Step:
    """One tap: the mutation it queues, on which work order and visit (0, 1, ...: the
    visit's id is made when it checks in), and what the engineer entered."""

    name: str
    work_order_id: str
    visit: int | None = None
    args: dict[str, Any] = field(default_factory=dict)


def _visit(
    wo: WorkOrder, v: int, items: list[tuple[uuid.UUID, str]], start: dt.datetime
) -> list[Step]:
    def at(minutes: int) -> str:
        return (start + dt.timedelta(minutes=minutes)).isoformat()

    w = str(wo.id)
    gps = {"lat": wo.site_lat + 0.0002, "lon": wo.site_lon - 0.0001, "accuracy_m": 8.0}
    (yes_no, _), (number, _), (text, _) = items
    return [
        Step("labour.add", w, None, {"kind": "travel", "started_at": at(-35), "ended_at": at(0)}),
        Step("visit.check_in", w, v, {"gps": gps}),
        Step("checklist.answer", w, v, {"item_id": str(yes_no), "value": True}),
        Step("checklist.answer", w, v, {"item_id": str(number), "value": 7.5}),
        Step("checklist.answer", w, v, {"item_id": str(text), "value": OBSERVATION}),
        Step("note.add", w, v, {"text": NOTE}),
        Step("labour.add", w, v, {"kind": "work", "started_at": at(1), "ended_at": at(45)}),
        Step("visit.check_out", w, v, {"gps": gps}),
    ]


def plan(
    work_orders: list[WorkOrder],
    items: list[tuple[uuid.UUID, str]],
    *,
    visits: int,
    limit: int | None = None,
) -> list[Step]:
    """The steps for these work orders, in the order the engineer makes them (at most
    ``limit``); visits an hour apart, all in the past (labour must have ended)."""
    steps: list[Step] = []
    first = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2 + len(work_orders) * visits)
    for n, wo in enumerate(work_orders):
        steps += [
            Step("work_order.accept", str(wo.id)),
            Step("work_order.start_travel", str(wo.id)),
        ]
        for v in range(visits):
            steps += _visit(wo, v, items, first + dt.timedelta(hours=n * visits + v))
    return steps[:limit]


class PhoneDriver:
    """Plays steps on a ``Store``, as the screens do (``mobile.core.Work`` calls these)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.visits: dict[tuple[str, int], str] = {}

    def visit_id(self, step: Step) -> str | None:
        return None if step.visit is None else self.visits[(step.work_order_id, step.visit)]

    def play(self, step: Step) -> None:
        s, wo, a = self.store, step.work_order_id, step.args
        if step.name == "work_order.accept":
            s.accept(wo)
        elif step.name == "work_order.start_travel":
            s.start_travel(wo)
        elif step.name == "visit.check_in":
            assert step.visit is not None
            self.visits[(wo, step.visit)] = s.check_in(wo, a["gps"])
        elif step.name == "labour.add":
            s.add_labour(wo, **a, visit_id=self.visit_id(step))
        elif step.name == "checklist.answer":
            visit = self.visit_id(step)
            assert visit is not None
            s.answer_checklist(wo, visit_id=visit, item_id=a["item_id"], value=a["value"])
        elif step.name == "note.add":
            s.add_note(wo, a["text"], visit_id=self.visit_id(step))
        elif step.name == "visit.check_out":
            visit = self.visit_id(step)
            assert visit is not None
            s.check_out(visit, a["gps"])
        else:  # pragma: no cover - plan() makes only the steps above
            raise ValueError(step.name)


_NEW_ID = {
    "labour.add": "entry_id",
    "checklist.answer": "answer_id",
    "note.add": "note_id",
}


def bare_mutations(steps: list[Step], first_seq: int) -> Iterator[dict[str, Any]]:
    """The steps as the protocol's mutations (the JSON a push carries), ids made here and
    every args checked by ``shared.sync.check_args`` as the store checks them; no store."""
    visits: dict[tuple[str, int], str] = {}
    for seq, step in enumerate(steps, first_seq):
        args: dict[str, Any] = {"work_order_id": step.work_order_id, **step.args}
        if step.visit is not None:
            key = (step.work_order_id, step.visit)
            if step.name == "visit.check_in":
                visits[key] = str(uuid7())
            args["visit_id"] = visits[key]
        if step.name == "visit.check_out":
            del args["work_order_id"]
        if step.name in _NEW_ID:
            args[_NEW_ID[step.name]] = str(uuid7())
        device_time = dt.datetime.now().astimezone().isoformat()
        yield {
            "seq": seq,
            "id": str(uuid7()),
            "name": step.name,
            "args": check_args(step.name, args),
            "device_time": device_time,
        }


# --------------------------------------------------------------------------- the wire


@dataclass
class Exchange:
    method: str
    path: str
    request_body: int
    response_body: int  # as it came over the wire (before any content decoding)
    started: float
    ended: float


class CountingTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, recording every request: its body's bytes, the response's
    bytes as received, and when it started and ended (``time.perf_counter``)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                len(body),
                len(raw),
                started,
                time.perf_counter(),
            )
        )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=raw,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def take(self) -> list[Exchange]:
        """The exchanges so far, forgotten here."""
        taken, self.exchanges = self.exchanges, []
        return taken
