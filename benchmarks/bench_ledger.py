"""Ledger throughput: stock movements through the service layer vs. the same SQL with asyncpg.

Service side: ``server.parts.service.create_movement`` in its own transaction per movement
(``server.db.session_scope``), CONCURRENCY tasks on one SQLAlchemy engine, as a dispatcher.
It reads the part and the locations in one look-up, then changes both balances, writes the
ledger line and reads the replenishment minimums in one statement (``ledger._SHIFT``), and
checks the source's available stock on what that statement returns.

Baseline: per movement, one asyncpg transaction at the same concurrency with the same
writes: the guarded ``UPDATE stock_balances .. WHERE on_hand - reserved >= q`` on the
source, the ``INSERT .. ON CONFLICT DO UPDATE`` on the destination and the movement row.

The mix (the same operations on both sides): a quarter receives into a warehouse or a van,
half transfers warehouse -> van, a quarter transfers warehouse -> warehouse, over
WAREHOUSES warehouses, VANS vans and PARTS parts; the warehouses start with plenty, so
nothing is refused. Locks are always taken in one order (lower warehouse first, vans
last), as a real caller's would not be, so that no phase dies of a deadlock. Phases
alternate (raw, service, raw, service); at the end ``ledger.check`` must find nothing.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

import server.models  # noqa: F401  (every table known to the ORM)
from benchmarks.common import (
    CpuMeter,
    Goal,
    LockWaitSampler,
    Tenant,
    fresh_database,
    latency_summary,
    other_cores,
    plain_url,
    postgres_info,
    postgres_server,
    seed_tenant,
)
from server.auth.actor import ROLE_SCOPES, Actor
from server.auth.models import Role
from server.db import make_engine, make_sessionmaker, session_scope
from server.parts import service as parts_service
from server.parts.ledger import service as ledger
from server.parts.models import MovementKind
from server.parts.schemas import MovementCreate
from shared.ids import uuid7

DESCRIPTION = "stock movements: service layer (own transaction each) vs. the same SQL with asyncpg"
CONCURRENCY = 32
MOVEMENTS = int(os.environ.get("BENCH_LEDGER_MOVEMENTS", "4000"))
WARMUP = 300
ROUNDS = 2
PARTS = 200
WAREHOUSES = 4
VANS = 16
OPENING_STOCK = 1_000_000
GOAL = Goal("service movements per second >= 0.5 of the raw rate", at_least=0.5)

Op = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Movement:
    kind: MovementKind
    part: int
    source: uuid.UUID | None
    destination: uuid.UUID
    quantity: int


@dataclass
class World:
    tenant: Tenant
    parts: list[uuid.UUID]
    costs: list[Decimal]
    warehouses: list[uuid.UUID]
    vans: list[uuid.UUID]

    def movement(self, i: int) -> Movement:
        """Movement i of the mix (deterministic, so both sides do the same work)."""
        rng = random.Random(i)
        part, quantity, roll = rng.randrange(PARTS), rng.randint(1, 5), rng.random()
        if roll < 0.25:
            target = rng.choice(self.warehouses + self.vans)
            return Movement(MovementKind.RECEIVE, part, None, target, quantity)
        if roll < 0.75:
            source, target = rng.choice(self.warehouses), rng.choice(self.vans)
        else:  # lower warehouse to higher: row locks always in one order
            low, high = sorted(rng.sample(range(WAREHOUSES), 2))
            source, target = self.warehouses[low], self.warehouses[high]
        return Movement(MovementKind.TRANSFER, part, source, target, quantity)


async def seed(conn: asyncpg.Connection) -> World:
    """Parts, warehouses with opening stock (ledger lines and balances), vans. Not measured."""
    tenant = await seed_tenant(conn, slug="bench-ledger", customers=1, engineers=VANS)
    org = tenant.org_id
    parts = [uuid7() for _ in range(PARTS)]
    costs = [Decimal(5 + i % 50) + Decimal("0.25") for i in range(PARTS)]
    warehouses = [uuid7() for _ in range(WAREHOUSES)]
    vans = [uuid7() for _ in range(VANS)]
    actor = f"user:{tenant.dispatcher_email}"
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO parts (id, org_id, sku, name, description, unit, cost, price, "
            "serialised, compatible_models, active, version) "
            "VALUES ($1, $2, $3, $4, '', 'pcs', $5::numeric, $5::numeric * 2, false, '{}', "
            "true, 1)",
            [(p, org, f"BP-{i:04d}", f"Bench part {i}", costs[i]) for i, p in enumerate(parts)],
        )
        await conn.executemany(
            "INSERT INTO stock_locations (id, org_id, kind, name, engineer_id, active, version) "
            "VALUES ($1, $2, $3, $4, $5, true, 1)",
            [(w, org, "warehouse", f"Warehouse {i}", None) for i, w in enumerate(warehouses)]
            + [
                (v, org, "van", f"Van {i}", e)
                for i, (v, e) in enumerate(zip(vans, tenant.engineer_ids, strict=True))
            ],
        )
        opening = [(w, p, c) for w in warehouses for p, c in zip(parts, costs, strict=True)]
        await conn.executemany(
            "INSERT INTO stock_movements (id, org_id, kind, part_id, quantity, to_location_id, "
            "unit_cost, from_field, actor) VALUES ($1, $2, 'receive', $3, $4, $5, $6, false, $7)",
            [(uuid7(), org, p, OPENING_STOCK, w, c, actor) for w, p, c in opening],
        )
        await conn.executemany(
            "INSERT INTO stock_balances (location_id, part_id, org_id, on_hand, reserved, "
            "needs_reconciliation) VALUES ($1, $2, $3, $4, 0, false)",
            [(w, p, org, OPENING_STOCK) for w, p, _ in opening],
        )
    return World(tenant, parts, costs, warehouses, vans)


# --------------------------------------------------------------------------- the two sides


def service_op(maker: Any, world: World) -> Op:
    tenant = world.tenant
    actor = Actor(
        org_id=tenant.org_id,
        role=Role.DISPATCHER,
        scopes=ROLE_SCOPES[Role.DISPATCHER],
        user_id=tenant.dispatcher_id,
        label=f"user:{tenant.dispatcher_email}",
    )

    async def create(i: int) -> None:
        m = world.movement(i)
        data = MovementCreate(
            kind=m.kind,
            part_id=world.parts[m.part],
            quantity=Decimal(m.quantity),
            from_location_id=m.source,
            to_location_id=m.destination,
        )
        async with session_scope(maker) as session:
            await parts_service.create_movement(session, actor, data=data)

    return create


TAKE = (
    "UPDATE stock_balances SET on_hand = on_hand - $3, updated_at = now() "
    "WHERE location_id = $1 AND part_id = $2 AND on_hand - reserved >= $3 RETURNING on_hand"
)
BUMP = (
    "INSERT INTO stock_balances (location_id, part_id, org_id, on_hand, reserved, "
    "needs_reconciliation) VALUES ($1, $2, $3, $4, 0, false) "
    "ON CONFLICT (location_id, part_id) DO UPDATE SET "
    "on_hand = stock_balances.on_hand + excluded.on_hand, "
    "reserved = stock_balances.reserved + excluded.reserved, updated_at = now() "
    "RETURNING on_hand, reserved"
)
INSERT_MOVEMENT = (
    "INSERT INTO stock_movements (id, org_id, kind, part_id, quantity, from_location_id, "
    "to_location_id, unit_cost, from_field, actor) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9)"
)


def raw_op(pool: asyncpg.Pool, world: World) -> Op:
    org, actor = world.tenant.org_id, f"user:{world.tenant.dispatcher_email}"

    async def create(i: int) -> None:
        m = world.movement(i)
        part, quantity = world.parts[m.part], Decimal(m.quantity)
        async with pool.acquire() as conn, conn.transaction():
            if m.source is not None:
                if await conn.fetchval(TAKE, m.source, part, quantity) is None:
                    raise RuntimeError(f"raw side: shortage at {m.source}")
            await conn.fetchrow(BUMP, m.destination, part, org, quantity)
            await conn.execute(
                INSERT_MOVEMENT,
                uuid7(),
                org,
                m.kind.value,
                part,
                quantity,
                m.source,
                m.destination,
                world.costs[m.part],
                actor,
            )

    return create


# --------------------------------------------------------------------------- the run


async def drive(count: int, op: Op, *, offset: int) -> tuple[float, list[float]]:
    todo = iter(range(offset, offset + count))
    latencies: list[float] = []

    async def worker() -> None:
        for i in todo:  # the tasks share one iterator: each index runs once
            started = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, latencies


@dataclass
class Side:
    count: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.latencies: list[float] = []
        self.cpu: list[dict[str, float]] = []

    def report(self) -> dict[str, Any]:
        cpu = {k: round(sum(c[k] for c in self.cpu) / len(self.cpu), 2) for k in self.cpu[0]}
        return {
            "movements": self.count,
            "per_second": round(self.count / self.seconds, 1),
            "latency": latency_summary(self.latencies),
            "cpu": cpu,
        }


async def phase(side: Side, op: Op, count: int, offset: int, url: str, pg_pid: int | None) -> None:
    async with LockWaitSampler(url) as locks:
        with CpuMeter(pg_pid=pg_pid) as meter:
            seconds, latencies = await drive(count, op, offset=offset)
    side.count += count
    side.seconds += seconds
    side.latencies += latencies
    side.cpu.append({**meter.result, "lock_waiters": locks.mean})


async def run() -> dict[str, Any]:
    async with postgres_server() as pg_server:
        db_url = await fresh_database(pg_server.url, "fixflow_bench_ledger")
        url = plain_url(db_url)
        conn = await asyncpg.connect(url)
        engine = make_engine(db_url, pool_size=CONCURRENCY)
        pool = await asyncpg.create_pool(url, min_size=CONCURRENCY, max_size=CONCURRENCY)
        try:
            world = await seed(conn)
            pg = await postgres_info(conn)
            maker = make_sessionmaker(engine)
            via_service, direct = service_op(maker, world), raw_op(pool, world)
            await drive(WARMUP, direct, offset=0)
            await drive(WARMUP, via_service, offset=WARMUP)
            service_side, raw_side = Side(), Side()
            per_round, offset = MOVEMENTS // ROUNDS, 2 * WARMUP
            for _ in range(ROUNDS):
                for side, op in ((raw_side, direct), (service_side, via_service)):
                    await phase(side, op, per_round, offset, url, pg_server.pid)
                    offset += per_round
            async with session_scope(maker) as session:
                started = time.perf_counter()
                mismatches = await ledger.check(session, world.tenant.org_id)
                check_s = time.perf_counter() - started
            if mismatches:
                raise RuntimeError(f"ledger.check found {len(mismatches)} mismatches")
            lines = await conn.fetchval("SELECT count(*) FROM stock_movements")
        finally:
            await pool.close()
            await engine.dispose()
            await conn.close()
    service_report, raw_report = service_side.report(), raw_side.report()
    ratio = service_report["per_second"] / raw_report["per_second"]
    return {
        "description": DESCRIPTION,
        "figures": {"service": service_report},
        "baseline": {"raw_asyncpg": raw_report},
        "ratio": round(ratio, 3),
        "ratio_means": "service movements per second / raw asyncpg movements per second",
        "judged": round(ratio, 3),
        "brief": {
            "service/s": service_report["per_second"],
            "raw/s": raw_report["per_second"],
            "other cores (service / raw)": other_cores(service_report["cpu"], raw_report["cpu"]),
        },
        "setup": {
            "concurrency": CONCURRENCY,
            "warmup_per_side": WARMUP,
            "rounds": ROUNDS,
            "mix": "25% receive (warehouse or van), 50% transfer warehouse->van, "
            "25% transfer warehouse->warehouse",
            "parts": PARTS,
            "warehouses": WAREHOUSES,
            "vans": VANS,
            "client": "one process: SQLAlchemy engine (pool 32) and asyncpg pool (32)",
            "postgres": pg,
            "ledger_lines": lines,
            "ledger_check": {"mismatches": 0, "seconds": round(check_s, 2)},
        },
    }
