"""Stock reports: SQL aggregates over the balances and the ledger, always within one
organisation. The definitions (they are the contract, also in docs/parts.md):

- **On hand**: stock locations' balances (customer sites hold installed parts, not stock,
  and are left out unless asked for by id); value = on_hand x the part's current cost.
  A van counted below zero contributes a negative value.
- **Consumption**: ``consume`` lines only, by the time they were recorded, in buckets of
  the organisation's local day, ISO week (from Monday) or month. Quantity and cost
  (quantity x the unit cost recorded on the line) are gross: returns are not subtracted.
- **Work-order cost**: the work order's consume lines (quantity x unit cost at the time)
  minus its ``good`` returns (unused parts taken back); a defective return is the unit
  that came out of the equipment and credits nothing.
- **Turnover** of a location over [from, to): the cost of parts consumed from it in the
  range / its average stock value, where average = (value at ``from`` + value at ``to``)
  / 2 and the value at time T = for each part, the sum of the location's on-hand deltas
  of the lines recorded before T, x the part's current cost. Because the balances equal
  the ledger (``ledger.check``), that is computed backwards: current balance minus the
  deltas recorded at or after T, so only the lines since ``from`` are read. No turnover
  (null) when the average value is not positive.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server import instants
from server.auth import Actor
from server.errors import Forbidden, NotFound, Unprocessable
from server.orgs import service as orgs
from server.parts import service as parts
from server.parts.locations import shown_name, shown_name_sql
from server.tickets import Ticket, format_number

Period = Literal["day", "week", "month"]
GroupBy = Literal["part", "product_model", "engineer"]
MAX_RANGE = dt.timedelta(days=731)  # two years (one of them may be a leap year)
MAX_LINES = 10_000
ZERO = Decimal(0)
CENT = Decimal("0.01")


# --- results ------------------------------------------------------------------------------


@dataclass
class LocationStock:
    location_id: uuid.UUID
    location_name: str
    kind: str
    parts: int  # balances with stock on hand or reserved
    on_hand: Decimal  # all parts together (mixed units: a count, not a measure)
    value: Decimal


@dataclass
class PartStock:
    location_id: uuid.UUID
    location_name: str
    part_id: uuid.UUID
    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reserved: Decimal
    cost: Decimal
    value: Decimal


@dataclass
class OnHandReport:
    total_value: Decimal
    locations: list[LocationStock]
    lines: list[PartStock] | None = None
    lines_truncated: bool = False


@dataclass
class ConsumptionRow:
    period_start: dt.date  # first day of the bucket, in the organisation's time zone
    key: str | None  # part id, product model or engineer id; null: no asset / not a van
    label: str
    quantity: Decimal
    cost: Decimal
    lines: int


@dataclass
class ConsumptionReport:
    period: Period
    group_by: GroupBy
    time_zone: str
    total_quantity: Decimal
    total_cost: Decimal
    rows: list[ConsumptionRow] = field(default_factory=list)


@dataclass
class CostLine:
    movement_id: uuid.UUID
    kind: str
    part_id: uuid.UUID
    sku: str
    name: str
    quantity: Decimal
    unit_cost: Decimal
    condition: str | None
    amount: Decimal  # what the line adds to the work order's cost (negative: a credit)
    created_at: dt.datetime


@dataclass
class WorkOrderCost:
    ticket_id: uuid.UUID
    number: str
    consumed_cost: Decimal
    returned_cost: Decimal
    total_cost: Decimal
    lines: list[CostLine]


@dataclass
class LocationTurnover:
    location_id: uuid.UUID
    location_name: str
    kind: str
    consumed_cost: Decimal
    start_value: Decimal
    end_value: Decimal
    average_value: Decimal
    turnover: Decimal | None


@dataclass
class PeriodTurnover:
    """The whole stock's turnover over one period of a series (``turnover_series``)."""

    start: dt.datetime
    end: dt.datetime
    consumed_cost: Decimal
    start_value: Decimal
    end_value: Decimal
    turnover: Decimal | None


@dataclass
class TurnoverReport:
    start: dt.datetime
    end: dt.datetime
    locations: list[LocationTurnover]


# --- checks -------------------------------------------------------------------------------


def _back_office(actor: Actor) -> None:
    if actor.is_engineer:
        raise Forbidden("stock reports other than an engineer's own van are for the back office")


def _range(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Both ends are instants (shared/times.py): aware, so they compare, and far enough from
    the calendar's edges for the organisation's zone to bucket them. They are returned as
    sent: the turnover report echoes them with the caller's offset."""
    instants.utc(start, "from")
    instants.utc(end, "to")
    if end <= start:
        raise Unprocessable("`to` must be after `from`", field="to")
    if end - start > MAX_RANGE:
        raise Unprocessable("the range may span at most two years", field="to")
    return start, end


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


# --- on hand ------------------------------------------------------------------------------

_ON_HAND_WHERE = """
    FROM stock_balances b
    JOIN stock_locations l ON l.id = b.location_id AND l.org_id = :org
    JOIN parts p ON p.id = b.part_id AND p.org_id = :org
   WHERE b.org_id = :org AND (b.on_hand <> 0 OR b.reserved <> 0) AND {scope}
"""
ON_HAND_BY_LOCATION = """
SELECT l.id AS location_id, l.name AS location_name, l.kind, count(*) AS parts,
       sum(b.on_hand) AS on_hand, sum(b.on_hand * p.cost) AS value
{where}
 GROUP BY l.id, l.name, l.kind
 ORDER BY {name}, l.id
"""
ON_HAND_BY_PART = """
SELECT l.id AS location_id, l.name AS location_name, l.kind AS location_kind, p.id AS part_id,
       p.sku, p.name, p.unit, b.on_hand, b.reserved, p.cost, b.on_hand * p.cost AS value
{where}
 ORDER BY {name}, l.id, p.sku
 LIMIT :limit
"""


def on_hand_sql(
    scope: str = "l.kind <> 'customer_site'", *, by_part: bool = False, name: str = "l.name"
) -> str:
    """The report's SQL (the benchmark runs the same text bare). Rows are ordered by
    ``name``: the location's name as the caller reads it (``shown_name_sql``), so hidden
    names do not show through the order."""
    where = _ON_HAND_WHERE.format(scope=scope)
    return (ON_HAND_BY_PART if by_part else ON_HAND_BY_LOCATION).format(where=where, name=name)


async def on_hand(
    session: AsyncSession,
    actor: Actor,
    *,
    location_id: uuid.UUID | None = None,
    by_part: bool = False,
    limit: int = 1000,
) -> OnHandReport:
    """Stock on hand and its value per location (and per location and part with by_part).
    Engineers see their own van only: another location is not found."""
    params: dict[str, Any] = {"org": actor.org_id}
    if location_id is not None:
        location = await parts.get_location(session, actor, location_id=location_id)
        scope, params["loc"] = "l.id = :loc", location.id
    elif actor.is_engineer:
        scope, params["eng"] = "l.engineer_id = :eng", actor.engineer_id
    else:
        scope = "l.kind <> 'customer_site'"
    name = shown_name_sql(actor)
    rows = await session.execute(text(on_hand_sql(scope, name=name)), params)
    locations = [
        LocationStock(
            location_id=r.location_id,
            location_name=shown_name(actor, r.kind, r.location_name),
            kind=r.kind,
            parts=r.parts,
            on_hand=r.on_hand,
            value=_money(r.value),
        )
        for r in rows
    ]
    report = OnHandReport(total_value=sum((x.value for x in locations), ZERO), locations=locations)
    if by_part:
        limit = max(1, min(limit, MAX_LINES))
        found = await session.execute(
            text(on_hand_sql(scope, by_part=True, name=name)), {**params, "limit": limit + 1}
        )
        # Each line carries its location's kind: a movement committed between the two
        # statements may bring a location the first did not see.
        lines = []
        for r in found:
            row = r._asdict()
            kind = row.pop("location_kind")
            row["location_name"] = shown_name(actor, kind, r.location_name)
            lines.append(PartStock(**{**row, "value": _money(r.value)}))
        report.lines, report.lines_truncated = lines[:limit], len(lines) > limit
    return report


# --- consumption --------------------------------------------------------------------------

_GROUPS: dict[str, tuple[str, str, str]] = {
    # group -> (key, label, joins)
    "part": (
        "m.part_id::text",
        "p.sku || ' ' || p.name",
        "JOIN parts p ON p.id = m.part_id AND p.org_id = :org",
    ),
    "product_model": (
        "a.product_model",
        "coalesce(a.product_model, '(work order without equipment)')",
        "LEFT JOIN tickets t ON t.id = m.ticket_id AND t.org_id = :org "
        "LEFT JOIN assets a ON a.id = t.asset_id AND a.org_id = :org",
    ),
    "engineer": (
        "e.id::text",
        "coalesce(e.display_name, '(not from a van)')",
        "LEFT JOIN stock_locations l ON l.id = m.from_location_id AND l.org_id = :org "
        "LEFT JOIN engineers e ON e.id = l.engineer_id AND e.org_id = :org",
    ),
}
CONSUMPTION = """
SELECT date_trunc(:period, m.created_at AT TIME ZONE :tz)::date AS period_start,
       {key} AS key, {label} AS label,
       sum(m.quantity) AS quantity, sum(m.quantity * m.unit_cost) AS cost, count(*) AS lines
  FROM stock_movements m {joins}
 WHERE m.org_id = :org AND m.kind = 'consume' AND m.created_at >= :start AND m.created_at < :end
 GROUP BY 1, 2, 3
 ORDER BY 1, 3, 2
"""


async def consumption(
    session: AsyncSession,
    actor: Actor,
    *,
    start: dt.datetime,
    end: dt.datetime,
    period: Period,
    group_by: GroupBy,
) -> ConsumptionReport:
    _back_office(actor)
    start, end = _range(start, end)
    tz = await orgs.zone(session, actor.org_id)
    key, label, joins = _GROUPS[group_by]
    sql = CONSUMPTION.format(key=key, label=label, joins=joins)
    params = {"org": actor.org_id, "period": period, "tz": tz, "start": start, "end": end}
    rows = [
        ConsumptionRow(
            period_start=r.period_start,
            key=r.key,
            label=r.label,
            quantity=r.quantity,
            cost=_money(r.cost),
            lines=r.lines,
        )
        for r in await session.execute(text(sql), params)
    ]
    return ConsumptionReport(
        period=period,
        group_by=group_by,
        time_zone=tz,
        total_quantity=sum((r.quantity for r in rows), ZERO),
        total_cost=sum((r.cost for r in rows), ZERO),
        rows=rows,
    )


# --- parts cost of a work order -----------------------------------------------------------

WORK_ORDER_LINES = """
SELECT m.id AS movement_id, m.kind, m.part_id, p.sku, p.name, m.quantity, m.unit_cost,
       m.condition, m.created_at
  FROM stock_movements m JOIN parts p ON p.id = m.part_id AND p.org_id = :org
 WHERE m.org_id = :org AND m.ticket_id = :ticket AND m.kind IN ('consume', 'return')
 ORDER BY m.created_at, m.id
"""


async def work_order_cost(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> WorkOrderCost:
    _back_office(actor)
    number = await session.scalar(
        select(Ticket.number).where(Ticket.id == ticket_id, Ticket.org_id == actor.org_id)
    )
    if number is None:
        raise NotFound("work order not found")
    lines = []
    consumed = returned = ZERO
    for r in await session.execute(
        text(WORK_ORDER_LINES), {"org": actor.org_id, "ticket": ticket_id}
    ):
        value = r.quantity * r.unit_cost
        amount = ZERO
        if r.kind == "consume":
            consumed += value
            amount = value
        elif r.condition == "good":
            returned += value
            amount = -value
        lines.append(CostLine(**r._asdict(), amount=_money(amount)))
    return WorkOrderCost(
        ticket_id=ticket_id,
        number=format_number(number),
        consumed_cost=_money(consumed),
        returned_cost=_money(returned),
        total_cost=_money(consumed - returned),
        lines=lines,
    )


# --- turnover -----------------------------------------------------------------------------

TURNOVER = """
WITH stock_locs AS (
    SELECT id, name, kind FROM stock_locations
     WHERE org_id = :org AND kind <> 'customer_site'
), current_value AS (
    -- stock value now, per location (customer sites hold installed parts, not stock)
    SELECT b.location_id, sum(b.on_hand * p.cost) AS value
      FROM stock_balances b
      JOIN stock_locs l ON l.id = b.location_id
      JOIN parts p ON p.id = b.part_id AND p.org_id = :org
     WHERE b.org_id = :org
     GROUP BY b.location_id
), since AS (
    -- value of the on-hand changes recorded at or after :start and :end (one ledger scan);
    -- value at T = value now - value of the changes since T, as (on_hand - delta) x cost
    -- sums per location
    SELECT d.location_id,
           sum(d.q * p.cost) AS since_start,
           coalesce(sum(d.q * p.cost) FILTER (WHERE m.created_at >= :end), 0) AS since_end,
           coalesce(sum(m.quantity * m.unit_cost)
                    FILTER (WHERE d.q < 0 AND m.kind = 'consume' AND m.created_at < :end), 0)
               AS consumed
      FROM stock_movements m
     CROSS JOIN LATERAL (VALUES
           (m.from_location_id, -m.quantity,
            m.kind IN ('transfer', 'consume', 'return', 'scrap')),
           (m.to_location_id, m.quantity,
            m.kind IN ('receive', 'transfer', 'consume', 'return', 'adjust'))
     ) AS d(location_id, q, moves)
      JOIN stock_locs l ON l.id = d.location_id
      JOIN parts p ON p.id = m.part_id AND p.org_id = :org
     WHERE m.org_id = :org AND m.created_at >= :start AND d.moves
     GROUP BY d.location_id
)
SELECT l.id AS location_id, l.name AS location_name, l.kind,
       coalesce(s.consumed, 0) AS consumed_cost,
       coalesce(c.value, 0) - coalesce(s.since_start, 0) AS start_value,
       coalesce(c.value, 0) - coalesce(s.since_end, 0) AS end_value
  FROM stock_locs l
  LEFT JOIN current_value c ON c.location_id = l.id
  LEFT JOIN since s ON s.location_id = l.id
 ORDER BY {name}, l.id
"""


def turnover_sql(name: str = "l.name") -> str:
    """The turnover report's SQL, ordered by ``name`` (as ``on_hand_sql``)."""
    return TURNOVER.replace("{name}", name)


async def turnover(
    session: AsyncSession, actor: Actor, *, start: dt.datetime, end: dt.datetime
) -> TurnoverReport:
    _back_office(actor)
    start, end = _range(start, end)
    params = {"org": actor.org_id, "start": start, "end": end}
    locations = []
    for r in await session.execute(text(turnover_sql(shown_name_sql(actor))), params):
        start_value, end_value = _money(r.start_value), _money(r.end_value)
        average = (start_value + end_value) / 2
        consumed = _money(r.consumed_cost)
        ratio = (consumed / average).quantize(Decimal("0.0001")) if average > 0 else None
        locations.append(
            LocationTurnover(
                location_id=r.location_id,
                location_name=shown_name(actor, r.kind, r.location_name),
                kind=r.kind,
                consumed_cost=consumed,
                start_value=start_value,
                end_value=end_value,
                average_value=average.quantize(Decimal("0.001")),
                turnover=ratio,
            )
        )
    return TurnoverReport(start=start, end=end, locations=locations)


# The same rule over consecutive periods, for all stock locations together: the ledger
# lines since the first bound are read once and summed per period (width_bucket over the
# bounds), and each bound's value is the value now less the changes recorded since. A line
# changes the stock by +quantity at its destination and -quantity at its source, each
# side counted when it is a stock location the line's kind moves stock at (as in
# ``TURNOVER``'s two rows per line, here as two terms of one row).
TURNOVER_SERIES = """
SELECT -1 AS k,
       (SELECT coalesce(sum(b.on_hand * p.cost), 0)
          FROM stock_balances b
          JOIN stock_locations l ON l.id = b.location_id AND l.org_id = :org
                                AND l.kind <> 'customer_site'
          JOIN parts p ON p.id = b.part_id AND p.org_id = :org
         WHERE b.org_id = :org) AS change,
       0 AS consumed
UNION ALL
SELECT width_bucket(m.created_at, CAST(:bounds AS timestamptz[])) AS k,
       sum(p.cost * (CASE WHEN dest.id IS NOT NULL
                           AND m.kind IN ('receive', 'transfer', 'consume', 'return', 'adjust')
                          THEN m.quantity ELSE 0 END
                   - CASE WHEN src.id IS NOT NULL
                           AND m.kind IN ('transfer', 'consume', 'return', 'scrap')
                          THEN m.quantity ELSE 0 END)) AS change,
       coalesce(sum(m.quantity * m.unit_cost)
                FILTER (WHERE m.kind = 'consume' AND src.id IS NOT NULL), 0) AS consumed
  FROM stock_movements m
  JOIN parts p ON p.id = m.part_id AND p.org_id = :org
  LEFT JOIN stock_locations src ON src.id = m.from_location_id AND src.org_id = :org
                               AND src.kind <> 'customer_site'
  LEFT JOIN stock_locations dest ON dest.id = m.to_location_id AND dest.org_id = :org
                                AND dest.kind <> 'customer_site'
 WHERE m.org_id = :org AND m.created_at >= :first
 GROUP BY 1
"""


async def turnover_series(
    session: AsyncSession, actor: Actor, *, bounds: list[dt.datetime]
) -> list[PeriodTurnover]:
    """Turnover of all stock locations together over each period [bounds[i], bounds[i+1])
    (the rule of ``turnover``), from one scan of the ledger since ``bounds[0]``."""
    _back_office(actor)
    params = {"org": actor.org_id, "bounds": bounds, "first": bounds[0]}
    rows = {r.k: r for r in await session.execute(text(TURNOVER_SERIES), params)}
    now = _money(rows[-1].change)
    # value at bounds[i] = now - the changes in buckets i+1 .. len(bounds) (after the last)
    since = [ZERO] * (len(bounds) + 2)
    for k in range(len(bounds), 0, -1):
        since[k] = since[k + 1] + (_money(rows[k].change) if k in rows else ZERO)
    periods = []
    for i in range(len(bounds) - 1):
        start_value, end_value = now - since[i + 1], now - since[i + 2]
        consumed = _money(rows[i + 1].consumed) if i + 1 in rows else ZERO
        average = (start_value + end_value) / 2
        ratio = (consumed / average).quantize(Decimal("0.0001")) if average > 0 else None
        periods.append(
            PeriodTurnover(bounds[i], bounds[i + 1], consumed, start_value, end_value, ratio)
        )
    return periods
