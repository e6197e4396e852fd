"""Bringing the KPI facts up to date from the operational tables (docs/kpis.md).

The facts are a cache: every row is recomputed from the source by ``server.reports.facts``
(the rules), never patched. A refresh loads a batch of work orders' raw rows with a handful
of set-based statements (one per table, ``= ANY($ids)``), computes the rows in Python and
writes them with one ``INSERT .. SELECT FROM unnest(..) ON CONFLICT DO UPDATE``: a full
rebuild of a million work orders is a few hundred such rounds.

``refresh_org`` finds what changed since the organisation's ``RefreshMark`` (with a ten
minutes' overlap for transactions that committed late) and refreshes that; ``full=True``
rebuilds everything. Like every service it never commits: the job, the CLI or the history
generator does.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import orgs
from server.db import driver, execute, fetch, fetchrow
from server.engineers import shifts
from server.reports import facts, rollup, sql
from server.reports.facts import (
    CheckIn,
    EngineerInfo,
    Event,
    Labour,
    Movement,
    Survey,
    TicketRow,
    WorkOrderRaw,
)
from server.tickets import BusinessHours

log = logging.getLogger("fixflow.reports")
BATCH = 5000
OVERLAP = dt.timedelta(minutes=10)
Progress = Callable[[int, int], None]


def lock_key(org_id: uuid.UUID) -> str:
    return f"kpi_refresh:{org_id}"


async def hold(session: AsyncSession, org_id: uuid.UUID, *, wait: bool = True) -> bool:
    """The organisation's refresh lock, until the transaction ends: every writer of its
    facts and roll-ups takes it (the minute job skips an organisation another worker
    holds, ``wait=False``). Taken again in the same transaction, it is already held."""
    take = func.pg_advisory_xact_lock if wait else func.pg_try_advisory_xact_lock
    got = await session.scalar(select(take(func.hashtextextended(lock_key(org_id), 0))))
    return got is not False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Context:
    """What every batch of one organisation shares: its engineers, the SLA policies'
    calendars, and the moment the facts are as of."""

    def __init__(
        self,
        engineers: dict[uuid.UUID, EngineerInfo],
        calendars: dict[uuid.UUID, BusinessHours | None],
        now: dt.datetime,
        zone: ZoneInfo,
    ) -> None:
        self.engineers = engineers
        self.calendars = calendars
        self.now = now
        self.zone = zone


async def _context(conn: asyncpg.Connection, org_id: uuid.UUID, zone: ZoneInfo) -> _Context:
    engineers = {
        r["id"]: EngineerInfo(r["team"], r["territory"], r["hourly_cost"])
        for r in await fetch(conn, sql.ENGINEERS, org_id)
    }
    calendars: dict[uuid.UUID, BusinessHours | None] = {}
    parsed: dict[uuid.UUID, BusinessHours | None] = {}
    for r in await fetch(conn, sql.CALENDARS, org_id):
        if r["calendar_id"] is None:
            calendars[r["policy_id"]] = None
            continue
        if r["calendar_id"] not in parsed:
            parsed[r["calendar_id"]] = _calendar(r)
        calendars[r["policy_id"]] = parsed[r["calendar_id"]]
    return _Context(engineers, calendars, _now(), zone)


def _calendar(row: asyncpg.Record) -> BusinessHours | None:
    """A stored calendar; one that no longer parses (the SLA refuses its deadlines until an
    admin fixes it) counts around the clock here rather than stopping every refresh."""
    try:
        return BusinessHours.from_config(row["timezone"], row["hours"], row["holidays"] or ())
    except ValueError:
        log.warning("calendar %s does not parse; counted around the clock", row["calendar_id"])
        return None


def _grouped(rows: Iterable[asyncpg.Record], make: Callable[..., Any]) -> dict[Any, list[Any]]:
    """Rows whose first value is the work order's id, as ``make(*rest)`` per work order."""
    out: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        out[row[0]].append(make(*row[1:]))
    return out


async def _raw(
    conn: asyncpg.Connection, org_id: uuid.UUID, ids: Sequence[uuid.UUID], ctx: _Context
) -> list[WorkOrderRaw]:
    """Each work order's raw rows: six statements for the whole batch."""
    tickets = [TicketRow(*r) for r in await fetch(conn, sql.TICKETS, org_id, ids)]
    events = _grouped(await fetch(conn, sql.EVENTS, org_id, ids), Event)
    check_ins = _grouped(await fetch(conn, sql.CHECK_INS, org_id, ids), CheckIn)
    labour = _grouped(await fetch(conn, sql.LABOUR, org_id, ids), Labour)
    movements = _grouped(await fetch(conn, sql.MOVEMENTS, org_id, ids), Movement)
    surveys = {r[0]: Survey(*r[1:]) for r in await fetch(conn, sql.SURVEYS, org_id, ids)}
    return [
        WorkOrderRaw(
            ticket=t,
            events=events.get(t.id, ()),
            check_ins=check_ins.get(t.id, ()),
            labour=labour.get(t.id, ()),
            movements=movements.get(t.id, ()),
            survey=surveys.get(t.id),
            calendar=ctx.calendars.get(t.sla_policy_id) if t.sla_policy_id else None,
        )
        for t in tickets
    ]


async def _refresh_batch(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    ctx: _Context,
    found: rollup.Dirty,
) -> int:
    """Rewrite the facts of ``ids``. The facts that changed go to ``found`` (the roll-ups
    to sum again): their anchors' dates before and after, and the dates of their ledger
    lines when the engineer, team or territory they are summed under changed."""
    before = {r["ticket_id"]: r for r in await fetch(conn, sql.FACTS_BEFORE, org_id, list(ids))}
    rows = [
        facts.work_order_fact(raw, ctx.engineers, ctx.now, ctx.zone)
        for raw in await _raw(conn, org_id, ids, ctx)
    ]
    if rows:
        # A fact's keys are in the table's column order (tests/server/reports/test_facts.py):
        # one transposition gives the upsert's arrays.
        arrays = zip(*(tuple(row.values()) for row in rows), strict=True)
        await execute(conn, sql.UPSERT_FACTS, *arrays)
    changed = [row for row in rows if _differs(before.get(row["ticket_id"]), row)]
    rollup.touch(found, [before[r["ticket_id"]] for r in changed if r["ticket_id"] in before])
    rollup.touch(found, changed)
    moved = [r["ticket_id"] for r in changed if _differs(before.get(r["ticket_id"]), r, MOVED)]
    if moved:
        found["movement"] |= await _ledger_days(conn, ctx.zone, sql.MOVEMENT_TIMES, org_id, moved)
    return len(rows)


async def _ledger_days(
    conn: asyncpg.Connection, zone: ZoneInfo, statement: str, *args: Any
) -> set[dt.date]:
    """The local dates of the ledger lines ``statement`` finds (their roll-ups)."""
    rows = await fetch(conn, statement, *args)
    return {day for r in rows if (day := facts.local_day(r[0], zone)) is not None}


# What a ledger line's roll-up is summed under, of its work order's fact.
MOVED = ("engineer_id", "team", "territory")


def _differs(
    old: asyncpg.Record | None, new: dict[str, Any], columns: Sequence[str] | None = None
) -> bool:
    """Whether a fact's rewrite changes it (in ``columns``; all but when it was refreshed)."""
    if old is None:
        return True
    names = columns or [name for name in new if name != "refreshed_at"]
    return any(old[name] != new[name] for name in names)


async def _with_neighbours(
    conn: asyncpg.Connection, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """``ids`` and every other work order on the same assets: a change to one can move its
    neighbours' ``next_on_asset_at`` and ``same_fault_next_at``, and the work orders they
    are marked repeats of (``marked_repeat_at``)."""
    rows = await fetch(conn, sql.NEIGHBOURS, org_id, list(ids))
    return sorted({*ids, *(r[0] for r in rows)})


async def refresh_work_orders(
    session: AsyncSession,
    org_id: uuid.UUID,
    ticket_ids: Iterable[uuid.UUID],
    *,
    progress: Progress | None = None,
) -> int:
    """Recompute the facts of ``ticket_ids`` (the organisation's; others are ignored) and
    of their neighbours on the same assets, and the roll-ups of their dates. Returns how
    many rows were written."""
    await hold(session, org_id)
    conn = await driver(session)
    wanted = list(ticket_ids)
    ids = await _with_neighbours(conn, org_id, wanted)
    found = rollup.dirty()
    written = await _refresh_ids(session, org_id, ids, progress, found)
    zone = await orgs.service.zone(session, org_id)
    # Their ledger lines, whenever recorded (lines without a work order: the minute job).
    found["movement"] |= await _ledger_days(
        conn, ZoneInfo(zone), sql.MOVEMENT_TIMES, org_id, wanted
    )
    await rollup.build(session, org_id, found, zone)
    return written


async def _refresh_ids(
    session: AsyncSession,
    org_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    progress: Progress | None,
    found: rollup.Dirty,
) -> int:
    conn = await driver(session)
    ctx = await _context(conn, org_id, ZoneInfo(await orgs.service.zone(session, org_id)))
    written = 0
    for start in range(0, len(ids), BATCH):
        written += await _refresh_batch(conn, org_id, ids[start : start + BATCH], ctx, found)
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    return written


# --- engineer days ---------------------------------------------------------------------------

Pair = tuple[uuid.UUID, dt.date]
ENGINEERS_PER_ROUND = 25


async def refresh_engineer_days(
    session: AsyncSession, org_id: uuid.UUID, pairs: Iterable[Pair]
) -> int:
    """Recompute the ``kpi_engineer_days`` rows of ``pairs`` (engineer, local date): the
    scheduled seconds from ``server.engineers.shifts`` (working hours, time off, extra
    shifts) up to now, and the effective work and travel split at local midnight. A day
    with nothing scheduled or recorded has no row. Returns how many rows were written."""
    conn = await driver(session)
    zone = ZoneInfo(await orgs.service.zone(session, org_id))
    by_engineer: dict[uuid.UUID, set[dt.date]] = defaultdict(set)
    for engineer_id, day in pairs:
        by_engineer[engineer_id].add(day)
    engineers = sorted(by_engineer)
    written = 0
    for start in range(0, len(engineers), ENGINEERS_PER_ROUND):
        chunk = {e: by_engineer[e] for e in engineers[start : start + ENGINEERS_PER_ROUND]}
        written += await _engineer_round(conn, org_id, chunk, zone)
    return written


async def _engineer_round(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    wanted: dict[uuid.UUID, set[dt.date]],
    zone: ZoneInfo,
) -> int:
    first = min(min(days) for days in wanted.values())
    last = max(max(days) for days in wanted.values())
    since, until = shifts.day_bounds(first, zone)[0], shifts.day_bounds(last, zone)[1]
    ids = list(wanted)
    people = {r["id"]: r for r in await fetch(conn, sql.ENGINEER_DAYS_PEOPLE, org_id, ids)}
    time_off = _grouped(await fetch(conn, sql.TIME_OFF, org_id, ids, since, until), _Off)
    labour = _by_day(await fetch(conn, sql.DAY_LABOUR, org_id, ids, since, until), zone)
    now = _now()
    rows, empty = [], []
    for engineer_id, days in wanted.items():
        person = people.get(engineer_id)
        if person is None:
            continue
        for day in sorted(days):
            bounds = shifts.day_bounds(day, zone)
            on = shifts.on_date(day, person["working_hours"], time_off.get(engineer_id, ()), zone)
            mine = labour.get((engineer_id, day), ())
            figures = facts.engineer_day(bounds, on, mine, now)
            if any(figures.values()):
                rows.append((engineer_id, day, person["team"], person["territory"], figures))
            else:
                empty.append((engineer_id, day))
    await _write_days(conn, org_id, rows, empty)
    return len(rows)


def _by_day(rows: Iterable[asyncpg.Record], zone: ZoneInfo) -> dict[Pair, list[Labour]]:
    """Labour entries under each (engineer, local date) they touch."""
    out: dict[Pair, list[Labour]] = defaultdict(list)
    for row in rows:
        entry = Labour(*row[1:])
        day = entry.started_at.astimezone(zone).date()
        last = (entry.ended_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
        while day <= last:
            out[(entry.engineer_id, day)].append(entry)
            day += dt.timedelta(days=1)
    return out


class _Off:
    """A time-off row as ``shifts.on_date`` reads it."""

    __slots__ = ("ends_at", "kind", "starts_at")

    def __init__(self, kind: str, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
        self.kind, self.starts_at, self.ends_at = kind, starts_at, ends_at


async def _write_days(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    rows: list[tuple[uuid.UUID, dt.date, str | None, str | None, dict[str, int]]],
    empty: list[Pair],
) -> None:
    if empty:
        await execute(conn, sql.DELETE_DAYS, org_id, [e for e, _ in empty], [d for _, d in empty])
    if rows:
        await execute(
            conn,
            sql.UPSERT_DAYS,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [org_id] * len(rows),
            [r[2] for r in rows],
            [r[3] for r in rows],
            [r[4]["scheduled_s"] for r in rows],
            [r[4]["work_s"] for r in rows],
            [r[4]["travel_s"] for r in rows],
        )


# --- the organisation ------------------------------------------------------------------------


async def refresh_org(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Bring the organisation's facts up to date: the work orders changed since the mark
    (less ``OVERLAP``) with their neighbours, and the engineer days those changes touch plus
    yesterday and today; everything with ``full``. Without a mark yet, the first build
    (``_first_build``). Moves the mark. Returns (work orders, engineer days) written."""
    await hold(session, org_id)
    conn = await driver(session)
    started = await _db_now(conn)
    mark = await fetchrow(conn, sql.MARK, org_id)
    zone = await orgs.service.zone(session, org_id)
    if mark is not None and mark["zone"] != zone:
        # The local dates (periods, engineer days) were of another time zone: start over,
        # by the first build's rounds unless ``full``.
        for statement in sql.FORGET:
            await execute(conn, statement, org_id)
        mark = None
    if mark is None and not full:
        return await _first_build(session, conn, org_id, started, progress)
    since = None if full or mark is None else mark["facts_through"] - OVERLAP
    if since is None:
        ids = [r[0] for r in await fetch(conn, sql.ALL_TICKETS, org_id)]
    else:
        changed = [r[0] for r in await fetch(conn, sql.CHANGED, org_id, since, started)]
        ids = await _with_neighbours(conn, org_id, changed)
    found = rollup.dirty()
    written = await _refresh_ids(session, org_id, ids, progress, found)
    if since is not None:  # the ledger lines recorded since, with a work order or without
        found["movement"] |= await _ledger_days(
            conn, ZoneInfo(zone), sql.RECENT_MOVEMENTS, org_id, since
        )
    # Built again wholly: roll-ups of another catalogue's sums, and on a full refresh
    # (every fact was rewritten; the ledger's lines without a work order are summed too).
    current = mark is not None and mark["rollup_layout"] == rollup.DIGEST
    await rollup.build(session, org_id, found if current and since is not None else None, zone)
    days = await _days_and_mark(session, conn, org_id, since, started, started)
    return written, days


FIRST_ROUND = 100_000


async def _first_build(
    session: AsyncSession,
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    started: dt.datetime,
    progress: Progress | None,
) -> tuple[int, int]:
    """An organisation's first refresh by the minute job, in rounds of ``FIRST_ROUND`` work
    orders without a fact yet, each round its own transaction (a long history is built
    over a few minutes' runs, each well within the worker's job timeout). The last round
    sets the mark at the first round's time (the earliest fact's ``refreshed_at``), so
    what changed while the rounds ran is taken by the next refresh."""
    ids = [r[0] for r in await fetch(conn, sql.UNBUILT, org_id, FIRST_ROUND)]
    written = await _refresh_ids(session, org_id, ids, progress, rollup.dirty())
    if len(ids) == FIRST_ROUND:
        return written, 0
    # The views read the facts until the mark says the roll-ups are built.
    await rollup.build(session, org_id, None, await orgs.service.zone(session, org_id))
    row = await fetchrow(conn, sql.EARLIEST_FACT, org_id)
    built_from = row[0] if row is not None and row[0] is not None else started
    return written, await _days_and_mark(session, conn, org_id, None, built_from, started)


async def _days_and_mark(
    session: AsyncSession,
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    since: dt.datetime | None,
    through: dt.datetime,
    now: dt.datetime,
) -> int:
    """The engineer days (see ``_day_pairs``), then the mark: facts read ``through``."""
    zone = ZoneInfo(await orgs.service.zone(session, org_id))
    today = now.astimezone(zone).date()
    pairs = await _day_pairs(conn, org_id, since, today, zone)
    days = await refresh_engineer_days(session, org_id, pairs)
    await execute(conn, sql.SET_MARK, org_id, through, today, zone.key, rollup.DIGEST)
    return days


async def _db_now(conn: asyncpg.Connection) -> dt.datetime:
    row = await fetchrow(conn, "SELECT now()")
    assert row is not None
    value: dt.datetime = row[0]
    return value


async def _day_pairs(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    since: dt.datetime | None,
    today: dt.date,
    zone: ZoneInfo,
) -> set[Pair]:
    """The engineer days to recompute, up to today. Incremental (``since``): the days of
    the labour, voids and time off recorded since, and yesterday and today of every active
    engineer. Full: every day with labour, and every day of every active engineer from
    the first labour (or their first day, if later) to today."""
    pairs: set[Pair] = set()
    if since is None:
        spans = await fetch(conn, sql.DAY_SPANS_ALL, org_id, zone.key)
    else:
        spans = await fetch(conn, sql.DAY_SPANS_SINCE, org_id, since, zone.key)
    for engineer_id, first, last in spans:
        day = first
        while day <= min(last, today):
            pairs.add((engineer_id, day))
            day += dt.timedelta(days=1)
    yesterday = today - dt.timedelta(days=1)
    start = yesterday if since is not None else min((s[1] for s in spans), default=yesterday)
    for engineer_id, joined in await fetch(conn, sql.ACTIVE_ENGINEERS, org_id):
        day = max(start, joined.astimezone(zone).date()) if since is None else start
        while day <= today:
            pairs.add((engineer_id, day))
            day += dt.timedelta(days=1)
    return pairs
