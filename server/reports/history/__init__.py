"""A realistic operational history for the KPIs and the dashboard (docs/history.md):
months of work orders with everything the product records about them, written with COPY
in chunks (a million work orders in minutes), the same for the same seed.

Demand follows the calendar (weekdays, the HVAC summer peak, public holidays) and three
bad actors are planted for the KPIs to find: a product model that fails far too often
(``world.BAD_MODEL``), an engineer whose repairs keep coming back, and a territory that
breaches its SLA (``world.BAD_TERRITORY``). The caller commits, then refreshes the facts."""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from server.reports.history import reference, stock, world, writer
from server.reports.history.bar import Bar
from server.reports.history.orders import Orders
from server.reports.history.reference import HistoryExists
from server.reports.history.rows import TABLES, Batch, Ids
from server.reports.history.setup import Cast, Unit

__all__ = ["Bar", "HistoryExists", "Options", "Summary", "generate", "run"]

Progress = Callable[[int, int], Any]
# Rows held before a COPY round (about 5,000 work orders' worth).
_CHUNK = 60_000


@dataclass(frozen=True, slots=True)
class Options:
    work_orders: int = 60_000
    engineers: int = 300
    months: int = 15
    seed: int = 14
    org: str = "demo"


@dataclass(slots=True)
class Summary:
    org_id: Any
    work_orders: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    # The bad actors: product_model (with its fault_code), engineer_id, territory.
    planted: dict[str, Any] = field(default_factory=dict)


async def generate(
    session: AsyncSession,
    options: Options,
    *,
    password: str,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Write ``options.work_orders`` work orders of history into the organisation
    ``options.org`` (created if missing) in the session's transaction; ``password`` is
    the history's users' password. Raises HistoryExists when it already has one."""
    started = time.monotonic()
    now = now or dt.datetime.now(dt.UTC)
    org = await reference.organisation(session, options.org)
    conn = await _driver(session)
    rng = random.Random(options.seed)  # noqa: S311 - demo data
    ids = Ids(f"{options.seed}:{org.id}")
    cast = await reference.cast(
        session, conn, org, engineers=options.engineers, work_orders=options.work_orders,
        months=options.months, now=now, rng=rng, ids=ids, password=password,
    )  # fmt: skip
    summary = Summary(org.id, first_day=cast.first_day, last_day=cast.last_day)
    summary.planted = {
        "product_model": world.BAD_MODEL,
        "fault_code": world.BAD_FAULT,
        "engineer_id": cast.staff[world.BAD_ENGINEER_TERRITORY][0].id,
        "territory": world.BAD_TERRITORY,
    }
    batch = Batch()
    orders = Orders(cast, rng, ids, batch, writer.write)
    made = await _days(conn, orders, options.work_orders, summary, progress)
    stock.top_ups(orders, before=None)
    await _flush(conn, batch, summary)
    locations = [cast.warehouse_id, *(s.van_id for team in cast.staff.values() for s in team)]
    await conn.execute(stock.BALANCES, cast.org_id, [*locations, *orders.site_locations.values()])
    await conn.execute(
        "INSERT INTO ticket_counters (org_id, last_number) VALUES ($1, $2)"
        " ON CONFLICT (org_id) DO UPDATE SET last_number = excluded.last_number",
        cast.org_id,
        orders.number,
    )
    # Fresh statistics for what was just copied in: the facts' rebuild that follows plans its
    # batched reads with them (without, the first 100,000 facts went at a third of the speed).
    for table in TABLES:
        await conn.execute(f"ANALYZE {table}")
    summary.work_orders, summary.seconds = made, time.monotonic() - started
    return summary


async def _days(
    conn: Any, orders: Orders, total: int, summary: Summary, progress: Progress | None
) -> int:
    """Day by day from the first to today: the day's work orders from the calendar, with
    the repeats planted earlier that fall on it, in creation order."""
    cast, rng = orders.cast, orders.rng
    plan = _demand(cast, total, random.Random(rng.random()))  # noqa: S311
    zone = ZoneInfo(cast.timezone)
    repeats: list[tuple[dt.datetime, int, Unit, Any, str, Any]] = []
    tie = itertools.count()
    made, month = 0, cast.first_day.replace(day=1)
    copier = _Copier(conn, summary)
    units = _all_units(cast)
    planned = sum(len(drawn) for _, drawn in plan)
    for day, drawn in plan:
        if day.replace(day=1) != month:
            month = day.replace(day=1)
            stock.top_ups(orders, before=month)
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        end = min(start + dt.timedelta(days=1), cast.now)
        due = []
        while repeats and repeats[0][0] < end:
            due.append(heapq.heappop(repeats))
        left, count = total - made - len(due) - len(repeats), len(drawn)
        drawn = _scaled(rng, drawn, units, (planned, left), last=day == cast.last_day)
        planned -= count
        todo = [(_instant(rng, start, end), next(tie), u, None, "", None) for u in drawn] + due
        for created, _, unit, repeat_of, fault, staff in sorted(todo, key=lambda t: (t[0], t[1])):
            if made >= total:
                break
            result = orders.make(
                created, unit, repeat_of=repeat_of, fault=fault or None, staff=staff
            )
            made += 1
            _plant_repeat(rng, repeats, tie, result, unit, cast.now)
            if len(orders.batch) >= _CHUNK:
                await copier.flush(orders.batch)
            elif made % 50 == 0:
                await asyncio.sleep(0)  # the COPY under way goes on meanwhile
            if progress is not None and made % 500 == 0:
                progress(made, total)
    await copier.done()
    if progress is not None:
        progress(made, total)
    return made


def _scaled(
    rng: random.Random, drawn: list[Unit], pool: list[Unit], counts: tuple[int, int], *, last: bool
) -> list[Unit]:
    """The day's draw scaled so that the days left make up the count left (``counts``:
    drawn for the days left, wanted for them): repeats come on top of the calendar's draw
    and are not known in advance. The last day makes up the rest exactly."""
    planned, left = counts
    if last:
        wanted = max(0, left)
    else:
        wanted = round(len(drawn) * max(0, left) / planned) if planned else 0
    if wanted <= len(drawn):
        return drawn[:wanted]
    source = drawn or pool
    return drawn + [rng.choice(source) for _ in range(wanted - len(drawn))]


def _plant_repeat(
    rng: random.Random, repeats: list[Any], tie: Any, result: Any, unit: Unit, now: dt.datetime
) -> None:
    """A repair that comes back: the same asset, the same fault, days or weeks later
    (far more often after the careless engineer's repairs)."""
    if result.resolved_at is None or result.type != "repair" or result.staff is None:
        return
    if rng.random() < result.staff.repeat_chance:
        at = result.resolved_at + dt.timedelta(days=rng.uniform(2, 25))
        if at < now:
            heapq.heappush(repeats, (at, next(tie), unit, result.id, result.fault, result.staff))


def _demand(cast: Cast, total: int, rng: random.Random) -> list[tuple[dt.date, list[Unit]]]:
    """For every day, the units that fail on it: each category's share of the failures
    (its units' failure rates) spread over the days by the category's calendar, each
    failure on a unit drawn by its failure rate."""
    days = [
        cast.first_day + dt.timedelta(days=i)
        for i in range((cast.last_day - cast.first_day).days + 1)
    ]
    holiday = world.holidays(cast.timezone, cast.first_day, cast.last_day)
    rates = {c: sum(u.model.failure_rate for u in units) for c, units in cast.units.items()}
    out: dict[dt.date, list[Unit]] = {d: [] for d in days}
    for category, units in sorted(cast.units.items()):
        share = total * rates[category] / sum(rates.values())
        weights = [world.day_weight(d, category, holiday) for d in days]
        scale = share / sum(weights)
        cumulative = list(itertools.accumulate(u.model.failure_rate for u in units))
        carry = 0.0
        for day, weight in zip(days, weights, strict=True):
            carry += weight * scale
            count, carry = int(carry), carry - int(carry)
            for _ in range(count):
                pick = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
                out[day].append(units[min(pick, len(units) - 1)])
    return list(out.items())


def _instant(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """A local time of day with the weight of its hour, before ``end`` (now, today)."""
    hours = min(24, max(1, int((end - start).total_seconds() // 3600)))
    hour = rng.choices(range(hours), weights=_HOURS[:hours])[0]
    at = start + dt.timedelta(hours=hour, seconds=rng.randint(0, 3599))
    return min(at, end - dt.timedelta(seconds=1)).astimezone(dt.UTC)


_HOURS = world.hour_weights()


def _all_units(cast: Cast) -> list[Unit]:
    return [u for units in cast.units.values() for u in units]


async def _flush(conn: Any, batch: Batch, summary: Summary) -> None:
    await _copy(conn, batch.take(), summary)


async def _copy(conn: Any, tables: dict[str, list[tuple[Any, ...]]], summary: Summary) -> None:
    for table, rows in tables.items():
        if rows:
            await conn.copy_records_to_table(table, records=rows, columns=list(TABLES[table]))
            summary.rows[table] = summary.rows.get(table, 0) + len(rows)


class _Copier:
    """COPYs a chunk while the next one is generated: PostgreSQL checks and indexes the
    rows on its own core meanwhile (about a third of the time when done in turn)."""

    def __init__(self, conn: Any, summary: Summary) -> None:
        self.conn, self.summary = conn, summary
        self.pending: asyncio.Task[None] | None = None

    async def flush(self, batch: Batch) -> None:
        await self.done()
        self.pending = asyncio.create_task(_copy(self.conn, batch.take(), self.summary))

    async def done(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            await pending


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session (COPY is not in SQLAlchemy), in its
    transaction; the ORM's pending rows are flushed first."""
    await session.flush()
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def run(
    database_url: str, options: Options, *, password: str, stream: TextIO | None = None
) -> Summary:
    """``fixflow demo --history``: generate and commit the history, then rebuild the
    organisation's KPI facts and commit them; a progress bar for each on ``stream``."""
    from server.db import make_engine, make_sessionmaker, session_scope
    from server.reports import refresh

    engine = make_engine(database_url, pool_size=2)
    try:
        async with session_scope(make_sessionmaker(engine)) as session:
            bar = Bar("history", unit="work orders", stream=stream)
            summary = await generate(session, options, password=password, progress=bar)
            bar.close()
        async with session_scope(make_sessionmaker(engine)) as session:
            bar = Bar("KPI facts", unit="work orders", stream=stream)
            await refresh.refresh_org(session, summary.org_id, full=True, progress=bar)
            bar.close()
    finally:
        await engine.dispose()
    return summary
