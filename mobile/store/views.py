"""What the screens list: the engineer's jobs (today, upcoming, done), an asset's history,
a job's reserved parts, the van-stock picker (search: ``mobile.store.search``).

Only work orders assigned to the logged-in engineer are "theirs": the pull also sends
colleagues' finished work orders as the service history of the assets they work on, and
those belong in ``asset_history``, never in the job lists. Before the phone knows which
engineer is logged in (``Store.engineer_id()``, learnt at log-in) the job lists are empty.

Job order: the dispatch plan's position when the rows carry one (``plan_position``, sent
with the plan's ``planned_start``, the ETA), then the window's start (none last), then
priority (P1 first), then number. A planned job is on the day of its planned start.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mobile.store import rows, search
from mobile.store.core import ENGINEER_ID, StoreCore, meta_get
from mobile.store.notices import FINISHED
from mobile.store.rows import Row
from shared.times import InstantError, parse_instant

VIEWS = ("today", "upcoming", "done")
RESERVATION = "reservation"
DONE_LIMIT = 100
_PRIORITIES = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
_MINE = f"SELECT data FROM entities WHERE entity = '{rows.WORK_ORDER}' AND assignee_id = ?"  # noqa: S608 (constants)
_FINISHED = ", ".join(f"'{status}'" for status in sorted(FINISHED))
_DONE = f"{_MINE} AND status IN ({_FINISHED})"
# A job whose status is missing is open (listed, saying its status is unknown), not hidden.
_OPEN = f"{_MINE} AND (status IS NULL OR status NOT IN ({_FINISHED}))"


def _instant(value: Any) -> dt.datetime | None:
    """A time the phone can read, by the one rule (shared.times: an offset, 1970 to 2200);
    None otherwise. The Today rows read times by the same rule, so a job is never listed
    by a time its row cannot show (a time with no offset is not guessed to be UTC)."""
    try:
        return parse_instant(value)
    except InstantError:
        return None


def _plan(value: Any) -> float | None:
    """A dispatch plan's position: a finite number (not true/false, text or NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _job_order(row: Row) -> tuple[Any, ...]:
    plan, window = _plan(row.get("plan_position")), _instant(row.get("window_start"))
    return (
        plan is None,
        plan or 0,
        window is None,
        window or _EARLIEST,
        _PRIORITIES.get(str(row.get("priority")), len(_PRIORITIES) + 1),
        str(row.get("number") or ""),
        str(row.get("id")),
    )


def _starts(row: Row) -> dt.datetime | None:
    """When the job is expected to start: the plan's start (the ETA) when a plan gives
    one, else the appointment window's start."""
    return _instant(row.get("planned_start")) or _instant(row.get("window_start"))


def _finished_at(row: Row) -> dt.datetime:
    found = [_instant(row.get(k)) for k in ("closed_at", "resolved_at", "updated_at")]
    return max((f for f in found if f is not None), default=_EARLIEST)


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _decimal(value: Any) -> Decimal:
    return search.finite_decimal(value)


class Views(StoreCore):
    def my_work_orders(self, view: str, *, now: dt.datetime, tz: ZoneInfo) -> list[Row]:
        """``today``: open jobs planned or whose window starts before the end of the local
        day (overdue and unscheduled ones too); ``upcoming``: open jobs starting later;
        ``done``: resolved, closed, cancelled, most recently finished first (at most 100)."""
        if view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}")
        with self._read() as con:
            me = meta_get(con, ENGINEER_ID)
            if me is None:
                return []
            found = _data(con.execute(_DONE if view == "done" else _OPEN, (me,)))
        if view == "done":
            return sorted(found, key=_finished_at, reverse=True)[:DONE_LIMIT]
        local = now.astimezone(tz)
        end_of_day = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tz)
        wanted = [
            row
            for row in found
            if (view == "today") == ((when := _starts(row)) is None or when < end_of_day)
        ]
        return sorted(wanted, key=_job_order)

    def asset_history(self, asset_id: str, *, exclude: str | None = None) -> list[Row]:
        """The asset's work orders on the phone (but ``exclude``), newest first."""
        with self._read() as con:
            found = _data(
                con.execute(
                    "SELECT data FROM entities WHERE entity = ? AND asset_id = ? AND id <> ?",
                    (rows.WORK_ORDER, asset_id, exclude or ""),
                )
            )
        return sorted(
            found,
            key=lambda r: (_instant(r.get("created_at")) or _EARLIEST, str(r.get("number"))),
            reverse=True,
        )

    def reserved_parts(self, work_order_id: str) -> list[Row]:
        """What the office still holds reserved for the job (reserved minus released, as
        the server's ledger says; using a reserved part releases it there), per part:
        ``{part_id, sku, name, unit, quantity}``, by name."""
        with self._read() as con:
            lines = _data(
                con.execute(
                    "SELECT data FROM entities WHERE entity = ? AND work_order_id = ?",
                    (RESERVATION, work_order_id),
                )
            )
            held: dict[str, Decimal] = {}
            for line in lines:
                sign = 1 if line.get("kind") == "reserve" else -1
                key = str(line.get("part_id"))
                held[key] = held.get(key, Decimal(0)) + sign * _decimal(line.get("quantity"))
            out = []
            for part_id, quantity in held.items():
                if quantity > 0:
                    part = rows.load(con, search.PART, part_id) or {}
                    out.append(
                        {
                            "part_id": part_id,
                            "sku": part.get("sku"),
                            "name": part.get("name"),
                            "unit": part.get("unit"),
                            "quantity": _quantity(quantity),
                        }
                    )
        return sorted(out, key=lambda r: (str(r["name"] or ""), str(r["sku"] or "")))

    def search_parts(self, query: str, *, limit: int = 50) -> list[Row]:
        """The van-stock picker: parts by name (a substring, any script, case aside), SKU
        (the same) or barcode (exact); each the part's row with ``van_on_hand`` (what the
        van holds, None when nothing). An exact barcode or SKU first, then what the van
        holds, then by name. An empty query lists what the van holds."""
        with self._read() as con:
            hits = search.search(con, query, limit)
            return [
                {**(rows.load(con, search.PART, part_id) or {"id": part_id}), "van_on_hand": held}
                for part_id, held in hits
            ]

    def van_stock(self) -> list[Row]:
        """Every line of the engineer's van, by part name: the part's row with
        ``van_on_hand`` (None when nothing is left), ``reserved`` and
        ``needs_reconciliation`` (used below zero: to be counted)."""
        with self._read() as con:
            out = []
            for part_id, _ in search.van(con):
                line = rows.load(con, search.STOCK_BALANCE, part_id) or {}
                part = rows.load(con, search.PART, part_id) or {"id": part_id}
                out.append(
                    {
                        **part,
                        "van_on_hand": search.van_on_hand(con, part_id),
                        "reserved": line.get("reserved"),
                        "needs_reconciliation": bool(line.get("needs_reconciliation")),
                    }
                )
        return sorted(out, key=lambda r: (search.normalise(r.get("name")), str(r["id"])))


def _data(found: sqlite3.Cursor | Iterable[Any]) -> list[Row]:
    return [dict(json.loads(r[0])) for r in found]
