"""Local copies of server rows, with this phone's unsynced effects on top.

A row the UI sees is ``server row`` (the last ``put`` pulled, or nothing) with every pending
effect applied in ``seq`` order: a ``create`` effect supplies the whole row while the server
has not sent it, an ``update`` effect overwrites some fields. Effects are dropped when the
server acknowledges their mutation through the pull feed (its effects are in the feed before
its acknowledgement), or at once when the server rejects it; the row is then recomputed from
what is left. So a server row pulled while "accept" is still in the outbox does not flip the
work order back, and a rejected "accept" does not leave a lie on the screen.

Functions here take a connection inside the caller's transaction; none commits.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mobile.store import search

# Entity names as the pull feed names them.
WORK_ORDER = "work_order"
VISIT = "visit"
LABOUR = "labour_entry"
PART_LINE = "part_line"
NOTE = "note"
CHECKLIST_ANSWER = "checklist_answer"
ATTACHMENT = "attachment"
SIGNATURE = "signature"

Row = dict[str, Any]


@dataclass(frozen=True)
class Effect:
    entity: str
    id: str
    kind: Literal["create", "update"]
    patch: Mapping[str, Any]

    @classmethod
    def create(cls, entity: str, id: str, row: Mapping[str, Any]) -> Effect:
        return cls(entity, id, "create", {"id": id, **row})

    @classmethod
    def update(cls, entity: str, id: str, patch: Mapping[str, Any]) -> Effect:
        return cls(entity, id, "update", patch)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def load(con: sqlite3.Connection, entity: str, id: str) -> Row | None:
    found = con.execute(
        "SELECT data FROM entities WHERE entity = ? AND id = ?", (entity, id)
    ).fetchone()
    return None if found is None else dict(json.loads(found["data"]))


def _server_row(con: sqlite3.Connection, entity: str, id: str) -> Row | None:
    found = con.execute(
        "SELECT data, base, local FROM entities WHERE entity = ? AND id = ?", (entity, id)
    ).fetchone()
    if found is None:
        return None
    if not found["local"]:
        return dict(json.loads(found["data"]))
    return None if found["base"] is None else dict(json.loads(found["base"]))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _index_columns(entity: str, id: str, row: Row) -> tuple[str | None, ...]:
    """work_order_id, status, window_start, assignee_id, asset_id (the last two for work
    orders only: a child's ``asset_id`` would put it in the asset's history)."""
    work_order = id if entity == WORK_ORDER else row.get("work_order_id")
    mine = entity == WORK_ORDER
    return (
        _text(work_order),
        _text(row.get("status")),
        _text(row.get("window_start")),
        _text(row.get("assignee_id")) if mine else None,
        _text(row.get("asset_id")) if mine else None,
    )


# Tables derived from some entities' rows, kept in the same transaction (search.py).
_DERIVED = {search.PART: search.index_part, search.STOCK_BALANCE: search.index_stock}


def _write(con: sqlite3.Connection, entity: str, id: str, server: Row | None) -> None:
    """Store ``server`` as the server's row and recompute what the UI sees."""
    effects = con.execute(
        "SELECT kind, patch FROM effects WHERE entity = ? AND id = ? ORDER BY seq", (entity, id)
    ).fetchall()
    row = None if server is None else dict(server)
    for effect in effects:
        patch = json.loads(effect["patch"])
        if effect["kind"] == "create":
            if row is None:
                row = dict(patch)
        elif row is not None:
            row.update(patch)
    if (derive := _DERIVED.get(entity)) is not None:
        derive(con, id, row)
    if row is None:
        con.execute("DELETE FROM entities WHERE entity = ? AND id = ?", (entity, id))
        return
    base = None if server is None or not effects else _dumps(server)
    con.execute(
        "INSERT INTO entities (entity, id, data, base, local, work_order_id, status,"
        " window_start, assignee_id, asset_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (entity, id) DO UPDATE SET data = excluded.data, base = excluded.base,"
        " local = excluded.local, work_order_id = excluded.work_order_id,"
        " status = excluded.status, window_start = excluded.window_start,"
        " assignee_id = excluded.assignee_id, asset_id = excluded.asset_id",
        (entity, id, _dumps(row), base, 1 if effects else 0, *_index_columns(entity, id, row)),
    )


def put(con: sqlite3.Connection, entity: str, id: str, data: Mapping[str, Any]) -> None:
    """The server's full row (op ``put``). The change's id is the row's: a row whose data
    names another id, or none, is still found (and opened) by the id it was sent under."""
    _write(con, entity, id, {**data, "id": id})


def drop(con: sqlite3.Connection, entity: str, id: str) -> None:
    """The server no longer has the row for us (op ``delete`` or ``remove``)."""
    _write(con, entity, id, None)


def add_effects(con: sqlite3.Connection, seq: int, effects: Iterable[Effect]) -> None:
    for effect in effects:
        server = _server_row(con, effect.entity, effect.id)
        con.execute(
            "INSERT INTO effects (seq, entity, id, kind, patch) VALUES (?, ?, ?, ?, ?)",
            (seq, effect.entity, effect.id, effect.kind, _dumps(dict(effect.patch))),
        )
        _write(con, effect.entity, effect.id, server)


def drop_effects(con: sqlite3.Connection, seqs: Iterable[int]) -> None:
    """Forget the local effects of these mutations and recompute the rows they touched."""
    for seq in seqs:
        keys = con.execute("SELECT entity, id FROM effects WHERE seq = ?", (seq,)).fetchall()
        servers = [(k["entity"], k["id"], _server_row(con, k["entity"], k["id"])) for k in keys]
        con.execute("DELETE FROM effects WHERE seq = ?", (seq,))
        for entity, id, server in servers:
            _write(con, entity, id, server)


def forget_server_rows(con: sqlite3.Connection) -> None:
    """Before a ``reset`` snapshot: drop every server row, keep the local effects."""
    con.execute("DELETE FROM entities WHERE local = 0")
    kept = con.execute("SELECT entity, id FROM entities WHERE local = 1").fetchall()
    for key in kept:
        _write(con, key["entity"], key["id"], None)
    search.rebuild(con)


def reindex(con: sqlite3.Connection) -> None:
    """Recompute every row's index columns and the derived tables from the rows' data (a
    migration that adds an index column or a derived table)."""
    found = con.execute("SELECT entity, id, data FROM entities").fetchall()
    con.executemany(
        "UPDATE entities SET work_order_id = ?, status = ?, window_start = ?, assignee_id = ?,"
        " asset_id = ? WHERE entity = ? AND id = ?",
        [(*_index_columns(r[0], r[1], dict(json.loads(r[2]))), r[0], r[1]) for r in found],
    )
    search.rebuild(con)
