"""Sync push throughput: queued field mutations through ``POST /api/v1/sync/push`` vs. the
same rows written directly with asyncpg.

Phones: PHONES engineers per side, each with its own installation (``sync_clients`` row)
and a queue of mutations built with shared/sync.py (``check_args``, ``Mutation``), the way
mobile/sync builds them. The queue is a day of visits: per work order (``accepted``,
assigned to the engineer) a travel ``labour.add``, ``visit.check_in`` (which runs the
``arrive`` transition), three ``checklist.answer`` (yes/no, number, text), ``note.add``,
a work ``labour.add`` and ``visit.check_out``: 8 mutations per visit.

API side: the real server (``python -m server.cli api``, one uvicorn worker) over loopback,
each phone sending its next BATCH mutations in one push with its engineer's bearer token;
the PHONES phones push at the same time. A phase is one push per phone (PHONES x BATCH =
1,000 mutations); every result must be ``applied``.

Baseline: the same phones' batches written with asyncpg, one transaction per batch as the
server does: lock the installation's row, then per mutation the rows the server writes
for it (server/sync/push.py, server/field/*), with plain SQL and no checks:

    every mutation   sync_mutations row (args, result), feed ack row (scope client:<id>)
    labour.add       labour_entries row, feed row (labour_entry)
    visit.check_in   tickets UPDATE (status, version, updated_at, sla_next_check_at),
                     ticket_events + outbox_events rows (the transition), visits row
                     (number = max + 1), visit_checks row (distance to the site), feed rows
                     (work_order, visit)
    checklist.answer checklist_answers row, feed row
    note.add         ticket_notes row, feed row
    visit.check_out  visit_checks row, feed row

and ``last_seq`` / ``last_push_at`` set once at the end of the batch (as the server does).
Phases alternate (raw, API, raw, API, ...) after one warm-up batch
per phone and side; at the end both sides must have written the same number of rows in
every table above.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from benchmarks.common import (
    ApiServer,
    CpuMeter,
    Goal,
    LockWaitSampler,
    fresh_database,
    http_limits,
    latency_summary,
    other_cores,
    plain_url,
    postgres_info,
    postgres_server,
    redis_server,
)
from benchmarks.sync_seed import (
    Engineer,
    FieldOrg,
    WorkOrder,
    dumps,
    engineer_token,
    register_clients,
    seed_field_org,
)
from server.field.visits.service import distance_m
from server.tickets.audit import format_number
from shared.ids import uuid7
from shared.sync import MAX_MUTATIONS_PER_PUSH, Mutation, check_args

DESCRIPTION = "sync push: field mutations via POST /sync/push (real API) vs. the same rows, asyncpg"
PHONES = int(os.environ.get("BENCH_SYNC_PHONES", "10"))
BATCH = min(int(os.environ.get("BENCH_SYNC_BATCH", "100")), MAX_MUTATIONS_PER_PUSH)
ROUNDS = int(os.environ.get("BENCH_SYNC_ROUNDS", "3"))
WARMUP_BATCHES = 1
PER_VISIT = 8
GOAL = Goal("API mutations per second >= 1/3 of the raw rate", at_least=1 / 3)
TZ = dt.timezone(dt.timedelta(hours=8))  # the phones' local time (device times carry it)


# --------------------------------------------------------------------------- the phones


def visit_mutations(
    wo: WorkOrder, items: list[tuple[uuid.UUID, str]], start: dt.datetime
) -> list[tuple[str, dict[str, Any], str]]:
    """One visit as the phone queues it: (name, args, device_time), args checked by
    shared/sync.py exactly as the server will check them."""
    visit, w = str(uuid7()), str(wo.id)

    def at(minutes: int) -> str:
        return (start + dt.timedelta(minutes=minutes)).astimezone(TZ).isoformat()

    gps = {"lat": wo.site_lat + 0.0002, "lon": wo.site_lon - 0.0001, "accuracy_m": 8.0}
    (yes_no, _), (number, _), (text, _) = items
    on_visit = {"work_order_id": w, "visit_id": visit}
    raw: list[tuple[str, dict[str, Any], str]] = [
        (
            "labour.add",
            {"work_order_id": w, "entry_id": str(uuid7()), "kind": "travel"}
            | {"started_at": at(-35), "ended_at": at(0)},
            at(0),
        ),
        ("visit.check_in", {**on_visit, "gps": gps}, at(1)),
        (
            "checklist.answer",
            {**on_visit, "item_id": str(yes_no), "answer_id": str(uuid7()), "value": True},
            at(5),
        ),
        (
            "checklist.answer",
            {**on_visit, "item_id": str(number), "answer_id": str(uuid7()), "value": 7.5},
            at(40),
        ),
        (
            "checklist.answer",
            {**on_visit, "item_id": str(text), "answer_id": str(uuid7())}
            | {"value": "Condenser coil cleaned; no refrigerant leak found."},
            at(42),
        ),
        (
            "note.add",
            {**on_visit, "note_id": str(uuid7())}
            | {"text": "Replaced the contactor, reset the pressure switch, ran 30 minutes."},
            at(44),
        ),
        (
            "labour.add",
            {**on_visit, "entry_id": str(uuid7()), "kind": "work"}
            | {"started_at": at(1), "ended_at": at(45)},
            at(45),
        ),
        ("visit.check_out", {"visit_id": visit, "gps": gps}, at(46)),
    ]
    return [(name, check_args(name, args), when) for name, args, when in raw]


@dataclass
class Phone:
    engineer: Engineer
    client_id: uuid.UUID
    queue: list[Mutation]
    token: str = ""
    sent: int = 0  # mutations pushed so far
    by_work_order: dict[str, WorkOrder] = field(default_factory=dict)
    visit_work_orders: dict[str, WorkOrder] = field(default_factory=dict)  # visit id -> its

    def next_batch(self) -> list[Mutation]:
        batch = self.queue[self.sent : self.sent + BATCH]
        if len(batch) < BATCH:
            raise RuntimeError("a phone ran out of queued mutations: seed more work orders")
        self.sent += BATCH
        return batch


def make_phone(org: FieldOrg, engineer: Engineer, client_id: uuid.UUID, batches: int) -> Phone:
    visits = -(-batches * BATCH // PER_VISIT)
    day = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10)
    queue: list[Mutation] = []
    for n, wo in enumerate(engineer.work_orders[:visits]):
        for name, args, when in visit_mutations(wo, org.items, day + dt.timedelta(minutes=n)):
            queue.append(Mutation(len(queue) + 1, str(uuid7()), name, args, when))
    phone = Phone(engineer, client_id, queue)
    phone.by_work_order = {str(wo.id): wo for wo in engineer.work_orders}
    phone.visit_work_orders = {  # the raw side finds a check-out's work order here
        m.args["visit_id"]: phone.by_work_order[m.args["work_order_id"]]
        for m in queue
        if m.name == "visit.check_in"
    }
    return phone


# --------------------------------------------------------------------------- the API side

Push = Callable[[Phone], Awaitable[None]]


def api_push(client: httpx.AsyncClient) -> Push:
    async def push(phone: Phone) -> None:
        batch = phone.next_batch()
        body = {
            "client_id": str(phone.client_id),
            "sent_at": dt.datetime.now(TZ).isoformat(),
            "mutations": [m.to_json() for m in batch],
        }
        response = await client.post(
            "/api/v1/sync/push",
            content=dumps(body),
            headers={"Authorization": f"Bearer {phone.token}", "Content-Type": "application/json"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"push answered {response.status_code}: {response.text[:500]}")
        answer = response.json()
        refused = [r for r in answer["results"] if r["outcome"] != "applied"]
        if refused or answer["last_seq"] != batch[-1].seq:
            raise RuntimeError(f"push did not apply everything: {(refused or answer)!r:.500}")

    return push


# --------------------------------------------------------------------------- the raw side

LOCK_CLIENT = "SELECT last_seq FROM sync_clients WHERE id = $1 FOR UPDATE"
SET_LAST_SEQ = "UPDATE sync_clients SET last_seq = $2, last_push_at = now() WHERE id = $1"
INSERT_MUTATION = (
    "INSERT INTO sync_mutations (client_id, seq, org_id, mutation_id, name, args, "
    "work_order_id, device_time, outcome, result) "
    "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, 'applied', $9::jsonb)"
)
INSERT_FEED = (
    "INSERT INTO sync_changes (org_id, scope, entity, entity_id, op) "
    "SELECT $1, n.scope, n.entity, n.entity_id, n.op "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS n(scope, entity, entity_id, op)"
)
INSERT_LABOUR = (
    "INSERT INTO labour_entries (id, org_id, ticket_id, engineer_id, visit_id, kind, started_at, "
    "ended_at, recorded_by, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())"
)
ARRIVE = (
    "UPDATE tickets SET status = 'on_site', version = version + 1, updated_at = now(), "
    "sla_next_check_at = resolution_due_at "
    "WHERE id = $1 AND org_id = $2 AND status IN ('accepted', 'travelling')"
)
INSERT_EVENT = (
    "INSERT INTO ticket_events (id, org_id, ticket_id, kind, action, from_status, to_status, "
    "changes, actor) VALUES ($1, $2, $3, 'transition', 'arrive', 'accepted', 'on_site', '{}', $4)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox_events (id, org_id, topic, aggregate_id, payload, attempts) "
    "VALUES ($1, $2, 'ticket.transition', $3, $4::jsonb, 0)"
)
INSERT_VISIT = (
    "INSERT INTO visits (id, org_id, ticket_id, engineer_id, number, created_by, received_at) "
    "SELECT $1, $2, $3, $4, coalesce(max(number), 0) + 1, $5, now() FROM visits "
    "WHERE ticket_id = $3 RETURNING number"
)
INSERT_CHECK = (
    "INSERT INTO visit_checks (visit_id, kind, org_id, device_time, received_at, clock_offset_s, "
    "clock_skew, lat, lon, accuracy_m, distance_m, far_from_site, recorded_by) "
    "VALUES ($1, $2, $3, $4, now(), 0, false, $5, $6, $7, $8, false, $9)"
)
INSERT_ANSWER = (
    "INSERT INTO checklist_answers (id, org_id, ticket_id, visit_id, item_id, value, "
    "answered_by, device_time, received_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, now())"
)
INSERT_NOTE = (
    "INSERT INTO ticket_notes (id, org_id, ticket_id, visit_id, text, author, device_time, "
    "received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())"
)


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


async def _raw_apply(
    conn: asyncpg.Connection, org_id: uuid.UUID, phone: Phone, m: Mutation
) -> None:
    """The rows the server writes for one mutation (see the module docstring)."""
    a, engineer = m.args, phone.engineer
    scope, by = f"engineer:{engineer.id}", f"user:{engineer.email}"
    when = dt.datetime.fromisoformat(m.device_time)
    wo_id = _uuid(a.get("work_order_id"))
    feed: list[tuple[str, str]] = []  # (entity, id) for the engineer's scope
    if m.name == "labour.add":
        entry = uuid.UUID(a["entry_id"])
        await conn.execute(
            INSERT_LABOUR,
            entry,
            org_id,
            wo_id,
            engineer.id,
            _uuid(a.get("visit_id")),
            a["kind"],
            dt.datetime.fromisoformat(a["started_at"]),
            dt.datetime.fromisoformat(a["ended_at"]),
            by,
        )
        data: dict[str, Any] = {"entry_id": str(entry)}
        feed.append(("labour_entry", str(entry)))
    elif m.name == "visit.check_in":
        wo = phone.by_work_order[a["work_order_id"]]
        if await conn.execute(ARRIVE, wo_id, org_id) != "UPDATE 1":
            raise RuntimeError(f"raw side: work order {wo_id} was not accepted")
        await conn.execute(INSERT_EVENT, uuid7(), org_id, wo_id, by)
        payload = {
            "ticket_id": str(wo_id),
            "number": format_number(wo.number),
            "status": "on_site",
            "action": "arrive",
            "from_status": "accepted",
            "to_status": "on_site",
            "changes": {},
            "actor": by,
        }
        await conn.execute(INSERT_OUTBOX, uuid7(), org_id, wo_id, dumps(payload))
        visit = uuid.UUID(a["visit_id"])
        number = await conn.fetchval(INSERT_VISIT, visit, org_id, wo_id, engineer.id, by)
        await _check(conn, org_id, wo, visit, "in", when, a["gps"], by)
        data = {"visit_id": str(visit), "number": number}
        feed += [("work_order", str(wo_id)), ("visit", str(visit))]
    elif m.name == "checklist.answer":
        answer = uuid.UUID(a["answer_id"])
        await conn.execute(
            INSERT_ANSWER,
            answer,
            org_id,
            wo_id,
            uuid.UUID(a["visit_id"]),
            uuid.UUID(a["item_id"]),
            dumps(a["value"]),
            by,
            when,
        )
        data = {"answer_id": str(answer)}
        feed.append(("checklist_answer", str(answer)))
    elif m.name == "note.add":
        note = uuid.UUID(a["note_id"])
        await conn.execute(
            INSERT_NOTE, note, org_id, wo_id, _uuid(a.get("visit_id")), a["text"], by, when
        )
        data = {"note_id": str(note)}
        feed.append(("note", str(note)))
    elif m.name == "visit.check_out":
        visit = uuid.UUID(a["visit_id"])
        wo = phone.visit_work_orders[a["visit_id"]]
        await _check(conn, org_id, wo, visit, "out", when, a["gps"], by)
        data = {"visit_id": str(visit)}
        feed.append(("visit", str(visit)))
    else:  # pragma: no cover - the queue holds only the names above
        raise RuntimeError(f"raw side: no SQL for {m.name}")
    result = {"seq": m.seq, "outcome": "applied", "data": data}
    await conn.execute(
        INSERT_MUTATION,
        phone.client_id,
        m.seq,
        org_id,
        uuid.UUID(m.id),
        m.name,
        dumps(a),
        wo_id,
        when,
        dumps(result),
    )
    scopes = [scope] * len(feed) + [f"client:{phone.client_id}"]
    entities = [e for e, _ in feed] + ["mutation"]
    ids = [i for _, i in feed] + [str(m.seq)]
    ops = ["put"] * len(feed) + ["ack"]
    await conn.execute(INSERT_FEED, org_id, scopes, entities, ids, ops)


async def _check(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    wo: WorkOrder,
    visit: uuid.UUID,
    kind: str,
    when: dt.datetime,
    gps: dict[str, float],
    by: str,
) -> None:
    distance = round(distance_m(gps["lat"], gps["lon"], wo.site_lat, wo.site_lon), 1)
    await conn.execute(
        INSERT_CHECK,
        visit,
        kind,
        org_id,
        when,
        gps["lat"],
        gps["lon"],
        gps["accuracy_m"],
        distance,
        by,
    )


def raw_push(pool: asyncpg.Pool, org_id: uuid.UUID) -> Push:
    async def push(phone: Phone) -> None:
        batch = phone.next_batch()
        async with pool.acquire() as conn, conn.transaction():
            last = await conn.fetchval(LOCK_CLIENT, phone.client_id)
            if last != batch[0].seq - 1:
                raise RuntimeError(f"raw side: last_seq {last}, batch starts at {batch[0].seq}")
            for m in batch:
                await _raw_apply(conn, org_id, phone, m)
            await conn.execute(SET_LAST_SEQ, phone.client_id, batch[-1].seq)

    return push


# --------------------------------------------------------------------------- the run


@dataclass
class Side:
    phones: list[Phone]
    push: Push
    mutations: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)

    async def round(self) -> tuple[float, list[float]]:
        """Every phone pushes its next batch, all at once."""
        latencies: list[float] = []

        async def one(phone: Phone) -> None:
            started = time.perf_counter()
            await self.push(phone)
            latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one(p) for p in self.phones))
        return time.perf_counter() - started, latencies

    async def phase(self, url: str, api_pid: int, pg_pid: int | None) -> None:
        async with LockWaitSampler(url) as locks:
            with CpuMeter(api_pid=api_pid, pg_pid=pg_pid) as meter:
                seconds, latencies = await self.round()
        self.mutations += len(self.phones) * BATCH
        self.seconds += seconds
        self.latencies += latencies
        self.cpu.append({**meter.result, "lock_waiters": locks.mean})

    def report(self) -> dict[str, Any]:
        cpu = {k: round(sum(c[k] for c in self.cpu) / len(self.cpu), 2) for k in self.cpu[0]}
        rate = self.mutations / self.seconds
        return {
            "mutations": self.mutations,
            "per_second": round(rate, 1),
            "ms_per_mutation": round(1000 / rate, 3),
            "push_latency": latency_summary(self.latencies),
            "cpu": cpu,
        }


COUNTED = {  # table -> (count query, which ids it takes)
    "sync_mutations": ("SELECT count(*) FROM sync_mutations WHERE client_id = ANY($1)", "c"),
    "sync_changes": ("SELECT count(*) FROM sync_changes WHERE scope = ANY($1)", "s"),
    "ticket_events": ("SELECT count(*) FROM ticket_events WHERE ticket_id = ANY($1)", "t"),
    "outbox_events": ("SELECT count(*) FROM outbox_events WHERE aggregate_id = ANY($1)", "t"),
    "visits": ("SELECT count(*) FROM visits WHERE ticket_id = ANY($1)", "t"),
    "visit_checks": (
        "SELECT count(*) FROM visit_checks c JOIN visits v ON v.id = c.visit_id "
        "WHERE v.ticket_id = ANY($1)",
        "t",
    ),
    "labour_entries": ("SELECT count(*) FROM labour_entries WHERE ticket_id = ANY($1)", "t"),
    "checklist_answers": ("SELECT count(*) FROM checklist_answers WHERE ticket_id = ANY($1)", "t"),
    "ticket_notes": ("SELECT count(*) FROM ticket_notes WHERE ticket_id = ANY($1)", "t"),
    "tickets_on_site": (
        "SELECT count(*) FROM tickets WHERE id = ANY($1) AND status = 'on_site'",
        "t",
    ),
}


async def rows_written(conn: asyncpg.Connection, phones: list[Phone]) -> dict[str, int]:
    ids: dict[str, list[Any]] = {
        "c": [p.client_id for p in phones],
        "t": [wo.id for p in phones for wo in p.engineer.work_orders],
        "s": [f"engineer:{p.engineer.id}" for p in phones]
        + [f"client:{p.client_id}" for p in phones],
    }
    found = {}
    for name, (sql, key) in COUNTED.items():
        found[name] = int(await conn.fetchval(sql, ids[key]))
    return found


async def run() -> dict[str, Any]:
    batches = WARMUP_BATCHES + ROUNDS
    work_orders = -(-batches * BATCH // PER_VISIT)
    async with postgres_server() as pg_server, redis_server() as redis_url:
        db_url = await fresh_database(pg_server.url, "fixflow_bench_sync_push")
        url = plain_url(db_url)
        conn = await asyncpg.connect(url)
        pool = await asyncpg.create_pool(url, min_size=PHONES, max_size=PHONES)
        try:
            org = await seed_field_org(
                conn, slug="bench-sync-push", engineers=2 * PHONES, work_orders=work_orders
            )
            pg = await postgres_info(conn)
            api_crew, raw_crew = org.engineers[:PHONES], org.engineers[PHONES:]
            api_ids = await register_clients(conn, org, api_crew, "bench phone (API)")
            raw_ids = await register_clients(conn, org, raw_crew, "bench phone (raw)")
            api_phones = [
                make_phone(org, e, c, batches) for e, c in zip(api_crew, api_ids, strict=True)
            ]
            raw_phones = [
                make_phone(org, e, c, batches) for e, c in zip(raw_crew, raw_ids, strict=True)
            ]
            await conn.execute("VACUUM ANALYZE")
            async with ApiServer(database_url=db_url, redis_url=redis_url) as api:
                for phone in api_phones:
                    phone.token = engineer_token(api.secret_key, org.tenant, phone.engineer)
                limits = http_limits(PHONES)
                async with httpx.AsyncClient(
                    base_url=api.base_url, limits=limits, timeout=120
                ) as client:
                    api_side = Side(api_phones, api_push(client))
                    raw_side = Side(raw_phones, raw_push(pool, org.tenant.org_id))
                    for side in (raw_side, api_side):
                        for _ in range(WARMUP_BATCHES):
                            await side.round()
                    for _ in range(ROUNDS):
                        for side in (raw_side, api_side):
                            await side.phase(url, api.pid, pg_server.pid)
            api_rows = await rows_written(conn, api_phones)
            raw_rows = await rows_written(conn, raw_phones)
            if api_rows != raw_rows:
                raise RuntimeError(f"the sides wrote different rows: {api_rows} vs {raw_rows}")
        finally:
            await pool.close()
            await conn.close()
    api_report, raw_report = api_side.report(), raw_side.report()
    ratio = api_report["per_second"] / raw_report["per_second"]
    return {
        "description": DESCRIPTION,
        "figures": {"api_push": api_report},
        "baseline": {"raw_asyncpg": raw_report},
        "ratio": round(ratio, 3),
        "ratio_means": "API mutations per second / raw asyncpg mutations per second",
        "judged": round(ratio, 3),
        "brief": {
            "API/s": api_report["per_second"],
            "raw/s": raw_report["per_second"],
            "other cores (API / raw)": other_cores(api_report["cpu"], raw_report["cpu"]),
        },
        "setup": {
            "phones_per_side": PHONES,
            "mutations_per_push": BATCH,
            "mutations_per_phase": PHONES * BATCH,
            "rounds": ROUNDS,
            "warmup_pushes_per_phone": WARMUP_BATCHES,
            "mix_per_visit": "labour.add (travel), visit.check_in (+ arrive transition), "
            "3 x checklist.answer, note.add, labour.add (work), visit.check_out",
            "api": "python -m server.cli api, 1 uvicorn worker, loopback HTTP; httpx pool of "
            f"{PHONES} connections",
            "raw": f"asyncpg pool of {PHONES}, one transaction per batch",
            "postgres": pg,
            "rows_written_per_side": api_rows,
        },
    }
