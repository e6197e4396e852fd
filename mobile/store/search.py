"""The van-stock picker's search over the parts catalogue (50,000 parts and more).

Two derived tables, written in the same transaction as the rows they come from
(``mobile.store.rows`` calls ``index_part`` / ``index_stock`` for every write of a ``part`` or
``stock_balance`` row), so they can never disagree with what the phone holds:

- ``part_search``: name and SKU normalised (NFKC, then case-folded: "ＡＢＣ" and "abc" match,
  CJK text is kept as it is), the barcode as the server sent it, whether the part is active;
- ``van_stock``: the engineer's van (the pull sends ``stock_balance`` rows of their van only),
  part -> on hand, and whether it holds any.

No FTS5 (not every Android SQLite has it compiled in): a query is at most three indexed
look-ups and one walk of the name index in name order that stops at the limit, testing each
entry with ``instr`` (a substring, whatever the script), so the cost is bounded by how far
the walk goes before ``limit`` matches are found: the whole index only for a rare query.

Order: an exact barcode or SKU match, then parts the van holds, then the rest by name.
Inactive parts are left out, except those the van still holds: the server accepts their
use (only receiving and reserving them is refused), and the engineer has them in hand.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

PART = "part"
STOCK_BALANCE = "stock_balance"

Hit = tuple[str, str | None]  # part id, what the van holds (None: nothing)


def normalise(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).casefold().strip()


def finite_decimal(value: Any) -> Decimal:
    """A quantity the server sent, as a number; 0 for what is none ("abc", null, NaN,
    Infinity: a NaN cannot even be compared, and one such row must not stop the page)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def _on_hand(row: dict[str, Any]) -> Decimal:
    return finite_decimal(row.get("on_hand"))


def index_part(con: sqlite3.Connection, part_id: str, row: dict[str, Any] | None) -> None:
    """Keep the part's search row in step with the part (None: the part is gone)."""
    if row is None:
        con.execute("DELETE FROM part_search WHERE id = ?", (part_id,))
        return
    barcode = str(row["barcode"]).strip() if row.get("barcode") else None
    con.execute(
        "INSERT INTO part_search (id, name_norm, sku_norm, barcode, active)"
        " VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET name_norm = excluded.name_norm,"
        " sku_norm = excluded.sku_norm, barcode = excluded.barcode, active = excluded.active",
        (
            part_id,
            normalise(row.get("name")),
            normalise(row.get("sku")),
            barcode or None,
            0 if row.get("active") is False else 1,
        ),
    )


def index_stock(con: sqlite3.Connection, part_id: str, row: dict[str, Any] | None) -> None:
    """Keep the van's line for a part in step with its ``stock_balance`` row."""
    if row is None:
        con.execute("DELETE FROM van_stock WHERE part_id = ?", (part_id,))
        return
    on_hand = _on_hand(row)
    con.execute(
        "INSERT INTO van_stock (part_id, on_hand, holds) VALUES (?, ?, ?)"
        " ON CONFLICT (part_id) DO UPDATE SET on_hand = excluded.on_hand,"
        " holds = excluded.holds",
        (part_id, str(on_hand), 1 if on_hand > 0 else 0),
    )


def rebuild(con: sqlite3.Connection) -> None:
    """Both tables from the rows the phone holds (a migration, a reset)."""
    con.execute("DELETE FROM part_search")
    con.execute("DELETE FROM van_stock")
    for entity, index in ((PART, index_part), (STOCK_BALANCE, index_stock)):
        found = con.execute("SELECT id, data FROM entities WHERE entity = ?", (entity,))
        for key, data in found.fetchall():
            index(con, key, dict(json.loads(data)))


_VAN_ON_HAND = "SELECT on_hand FROM van_stock WHERE part_id = ? AND CAST(on_hand AS REAL) <> 0"
_EXACT = """
    SELECT p.id FROM part_search p
     WHERE (p.barcode = :raw OR p.sku_norm = :q)
       AND (p.active = 1 OR p.id IN (SELECT part_id FROM van_stock WHERE holds = 1))
     ORDER BY p.barcode = :raw DESC, p.name_norm, p.sku_norm
"""
# CROSS JOIN keeps the van (a few hundred lines) as the outer loop: SQLite would rather walk
# the whole catalogue in name order and probe the van for each part.
_IN_VAN = """
    SELECT p.id FROM van_stock v CROSS JOIN part_search p ON p.id = v.part_id
     WHERE v.holds = 1 AND (:q = '' OR instr(p.name_norm, :q) > 0 OR instr(p.sku_norm, :q) > 0)
     ORDER BY p.name_norm, p.sku_norm
     LIMIT :limit
"""
# Walks part_search_by_name in order (covering: no table look-up per entry) and stops at
# the limit; instr() tests each entry.
_BY_NAME = """
    SELECT id FROM part_search INDEXED BY part_search_by_name
     WHERE active = 1 AND (instr(name_norm, :q) > 0 OR instr(sku_norm, :q) > 0)
     ORDER BY name_norm, sku_norm
     LIMIT :limit
"""


def search(con: sqlite3.Connection, query: str, limit: int) -> list[Hit]:
    """Part ids in the picker's order, each with what the van holds of it."""
    if limit <= 0:
        return []
    q, raw = normalise(query), str(query or "").strip()
    params = {"q": q, "raw": raw, "limit": limit}
    ids: list[str] = []
    statements = (_IN_VAN,) if not q else (_EXACT, _IN_VAN, _BY_NAME)
    for statement in statements:
        for (part_id,) in con.execute(statement, params).fetchall():
            if part_id not in ids:
                ids.append(part_id)
        if len(ids) >= limit:
            break
    return [(part_id, van_on_hand(con, part_id)) for part_id in ids[:limit]]


def van_on_hand(con: sqlite3.Connection, part_id: str) -> str | None:
    found = con.execute(_VAN_ON_HAND, (part_id,)).fetchone()
    return None if found is None else str(found[0])


def van(con: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every part the van has a line for (held, used up or below zero), by part id."""
    found = con.execute("SELECT part_id, on_hand FROM van_stock ORDER BY part_id").fetchall()
    return [(str(r[0]), str(r[1])) for r in found]
