"""Keeping the generated stock ledger whole: every part used comes out of a van that was
topped up from the warehouse at the start of that month, and the warehouse received it
from the supplier; a customer's site gets its stock location the first time a part goes
there (as ``server.parts`` does). The balances are summed from the ledger at the end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import uuid

    from server.reports.history.orders import Orders
    from server.reports.history.setup import Unit


def site_location(orders: Orders, unit: Unit) -> uuid.UUID:
    found = orders.site_locations.get(unit.site_id)
    if found is None:
        at = orders.cast.now
        found = orders.ids.at(at)
        orders.site_locations[unit.site_id] = found
        row = (
            found, orders.cast.org_id, "customer_site", f"Site {unit.site_id.hex[:8]}",
            None, unit.site_id, True, 1, at, at,
        )  # fmt: skip
        orders.batch.add("stock_locations", row)
    return found


def top_ups(orders: Orders, *, before: dt.date | None) -> None:
    """The deliveries and van top-ups of every month that began before ``before`` (None:
    all of them): a receive into the warehouse and a transfer to each van of what the van
    used that month, dated the month's first morning."""
    zone = ZoneInfo(orders.cast.timezone)
    keys = sorted((k for k in orders.consumed if before is None or k[0] < before), key=str)
    used = {key: orders.consumed.pop(key) for key in keys}
    for month in sorted({m for m, _, _ in used}):
        at = dt.datetime(month.year, month.month, 1, 7, tzinfo=zone).astimezone(dt.UTC)
        vans = [(van, part, q) for (m, van, part), q in used.items() if m == month and q > 0]
        delivered: dict[Any, Decimal] = {}
        for _, part, quantity in vans:
            delivered[part] = delivered.get(part, Decimal(0)) + quantity
        warehouse = orders.cast.warehouse_id
        for part, quantity in sorted(delivered.items(), key=lambda kv: str(kv[0])):
            _move(orders, "receive", part, quantity, None, warehouse, at, "Monthly delivery")
        for van, part, quantity in vans:
            later = at + dt.timedelta(minutes=30)
            _move(orders, "transfer", part, quantity, warehouse, van, later, "Van top-up")


def _move(
    orders: Orders,
    kind: str,
    part: Any,
    quantity: Decimal,
    source: Any,
    dest: Any,
    at: dt.datetime,
    reason: str | None,
) -> None:
    cast = orders.cast
    cost = orders.cast.part_costs[part]
    row = (
        orders.ids.at(at), cast.org_id, kind, part, quantity, source, dest, None, None, None,
        reason, cost, None, False, cast.dispatcher, at,
    )  # fmt: skip
    orders.batch.add("stock_movements", row)


BALANCES = """
    INSERT INTO stock_balances (location_id, part_id, org_id, on_hand, reserved,
                                needs_reconciliation, updated_at)
    SELECT location_id, part_id, $1, sum(delta), 0, false, now()
      FROM (SELECT to_location_id AS location_id, part_id, quantity AS delta
              FROM stock_movements
             WHERE org_id = $1 AND to_location_id = ANY($2::uuid[])
               AND kind IN ('receive', 'transfer', 'consume', 'return')
            UNION ALL
            SELECT from_location_id, part_id, -quantity
              FROM stock_movements
             WHERE org_id = $1 AND from_location_id = ANY($2::uuid[])
               AND kind IN ('receive', 'transfer', 'consume', 'return')) AS d
     GROUP BY location_id, part_id
    ON CONFLICT (location_id, part_id) DO UPDATE SET on_hand = excluded.on_hand
"""
