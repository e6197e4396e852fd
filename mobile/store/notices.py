"""What the engineer is told about work arriving on or leaving the phone, written in the
transaction of the pulled page that brought the news (functions take the caller's
connection; none commits).

The server's ``remove`` of a work order says why (server/sync/resolve.py): ``reassigned``
(to a colleague, never named), ``unassigned``, ``cancelled`` or ``out_of_scope``; a
``delete`` means it no longer exists. The engineer is told when the job was theirs as the
phone showed it: not for a colleague's finished job that was only there as an asset's
history, nor for a job they declined themselves (the phone already shows it unassigned),
nor for their own finished job ageing out of the recent-work window.

Arrivals (``Arrivals``): a pulled ``put`` that makes an open work order the engineer's
(new on the phone, or on it before as someone else's or no one's) is an ``assigned``
notice; a job new in the claim pool is a ``claimable`` notice, one per job, put away by
itself once the job leaves the pool (claimed, taken, withdrawn), so the list shows only
jobs still to be had. Not news: a job already the engineer's being updated, a job the
engineer claimed from the pool themselves, one they declined on the phone (the phone shows
it unassigned), a finished job, and anything in a first sync (pages pulled from no cursor:
after a log-in or on a new phone, or after the server refused the cursor), which would
announce every job. A ``reset`` pulled with a cursor (one older than the feed keeps) announces what
the phone did not hold before it; a snapshot spans pages, so what the phone held before it
is kept in meta until its last page.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mobile.store import rows

FINISHED = frozenset({"resolved", "closed", "cancelled"})
# The notices' kinds, as Store.attention() lists them.
DEPARTED = "removed"
ASSIGNED = "assigned"
CLAIMABLE = "claimable"
ARRIVALS = (ASSIGNED, CLAIMABLE)
# Meta: what the phone held when a snapshot began ({"quiet": true} for a first sync).
SNAPSHOT = "snapshot_before"
# A ``dismissed`` key written when the server gave the engineer the job they claimed:
# its arrival is not news.
CLAIMED = "claimed:"


def _mine(row: dict[str, Any], engineer_id: str | None) -> bool:
    assignee = row.get("assignee_id")
    if engineer_id is not None:
        return assignee is not None and str(assignee) == engineer_id
    # Logged in before the phone learnt who it is: its open assigned work is its own.
    return assignee is not None and row.get("status") not in FINISHED


def departure(
    con: sqlite3.Connection,
    work_order_id: str,
    data: dict[str, Any],
    *,
    engineer_id: str | None,
    at: str,
) -> None:
    """Record a notice for a work order about to be dropped, if the engineer must know."""
    row = rows.load(con, rows.WORK_ORDER, work_order_id)
    if row is None or not _mine(row, engineer_id):
        return
    reason = str(data.get("reason") or "out_of_scope")
    if reason == "out_of_scope" and row.get("status") in FINISHED:
        return
    notice = {
        "reason": reason,
        "op": data.get("op"),
        "number": data.get("number") or row.get("number"),
        "title": data.get("title") or row.get("title"),
        "status": row.get("status"),  # as the phone showed it when it left
    }
    con.execute(
        "INSERT INTO notices (kind, work_order_id, data, created_at) VALUES (?, ?, ?, ?)",
        (DEPARTED, work_order_id, json.dumps(notice), at),
    )


def listed(con: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every notice not dismissed, as attention items."""
    found = con.execute(
        "SELECT n.id, n.kind, n.work_order_id, n.data, n.created_at FROM notices n"
        " WHERE NOT EXISTS (SELECT 1 FROM dismissed d WHERE d.key = 'notice:' || n.id)"
        " ORDER BY n.id"
    ).fetchall()
    out = []
    for r in found:
        data = dict(json.loads(r["data"]))
        out.append(
            {
                "key": f"notice:{r['id']}",
                "kind": r["kind"],
                "work_order_id": r["work_order_id"],
                "number": data.get("number"),
                "title": data.get("title"),
                "reason": data.get("reason"),
                "detail": data,
                "at": r["created_at"],
            }
        )
    return out


def names(con: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """The number and title of every work order that left the phone, by id (what was
    refused on it is still listed, and the phone no longer holds the job)."""
    out: dict[str, dict[str, Any]] = {}
    for r in con.execute("SELECT work_order_id, data FROM notices ORDER BY id").fetchall():
        data = dict(json.loads(r["data"]))
        out[str(r["work_order_id"])] = {"number": data.get("number"), "title": data.get("title")}
    return out


def _insert(con: sqlite3.Connection, kind: str, work_order_id: str, data: Any, at: str) -> None:
    con.execute(
        "INSERT INTO notices (kind, work_order_id, data, created_at) VALUES (?, ?, ?, ?)",
        (kind, work_order_id, json.dumps(data), at),
    )


def _held(con: sqlite3.Connection, engineer_id: str | None) -> dict[str, list[str]]:
    """The ids of the engineer's open work orders and of the pool, as the phone holds them."""
    mine = [
        str(r["id"])
        for r in con.execute(
            "SELECT id, data FROM entities WHERE entity = 'work_order' AND assignee_id IS NOT NULL"
        ).fetchall()
        if _open_and_mine(dict(json.loads(r["data"])), engineer_id)
    ]
    pool = con.execute("SELECT id FROM entities WHERE entity = ?", (CLAIMABLE,)).fetchall()
    return {"mine": mine, "pool": [str(r["id"]) for r in pool]}


def _open_and_mine(row: dict[str, Any], engineer_id: str | None) -> bool:
    return _mine(row, engineer_id) and row.get("status") not in FINISHED


class Arrivals:
    """The arrivals of one pulled page: made before the page's first change (``begin``),
    told of every ``put`` after it is stored and every row dropped, closed after its last
    (``end``)."""

    def __init__(
        self, con: sqlite3.Connection, *, engineer_id: str | None, at: str, quiet: bool
    ) -> None:
        self.con, self.engineer_id, self.at, self.quiet = con, engineer_id, at, quiet
        held = _held(con, engineer_id)
        self.mine, self.pool = set(held["mine"]), set(held["pool"])
        self.recorded: list[dict[str, Any]] = []
        self.snapshot = False  # the page is (part of) a snapshot

    @classmethod
    def begin(
        cls,
        con: sqlite3.Connection,
        *,
        reset: bool,
        had_cursor: bool,
        engineer_id: str | None,
        at: str,
    ) -> Arrivals:
        """Before the page is applied (and, for a ``reset``, before the rows are forgotten)."""
        kept = _meta(con, SNAPSHOT)
        if not had_cursor:  # the first pull (the server's first page is a reset)
            kept = {"quiet": True}
        arrivals = cls(con, engineer_id=engineer_id, at=at, quiet=bool(kept and kept["quiet"]))
        arrivals.snapshot = reset or kept is not None
        if kept and not arrivals.quiet:  # a later page of a snapshot: what it began with
            arrivals.mine, arrivals.pool = set(kept["mine"]), set(kept["pool"])
        return arrivals

    def put(self, entity: str, id: str) -> None:
        """A row was stored: is it news? (Judged on the row as the phone shows it.)"""
        if entity not in ("work_order", CLAIMABLE):
            return
        row = rows.load(self.con, entity, id)
        if entity == CLAIMABLE:
            if row is not None and id not in self.pool:
                self.pool.add(id)
                self._record(CLAIMABLE, id, row)
            return
        if row is None or not _open_and_mine(row, self.engineer_id):
            self.mine.discard(id)
            return
        if id in self.mine:
            return
        self.mine.add(id)
        claimed = self.con.execute(
            "SELECT 1 FROM claims WHERE work_order_id = ?"
            " UNION ALL SELECT 1 FROM dismissed WHERE key = ?",
            (id, CLAIMED + id),
        ).fetchone()
        self.con.execute("DELETE FROM dismissed WHERE key = ?", (CLAIMED + id,))
        if claimed is None:
            self._record(ASSIGNED, id, row)

    def drop(self, entity: str, id: str) -> None:
        """A row left the phone: should it come back, it is news again."""
        (self.pool if entity == CLAIMABLE else self.mine).discard(id)

    def _record(self, kind: str, id: str, row: dict[str, Any]) -> None:
        if self.quiet:
            return
        data = {
            "number": row.get("number"),
            "title": row.get("title"),
            "status": row.get("status"),
            "priority": row.get("priority"),
            "window_start": row.get("window_start"),
        }
        _insert(self.con, kind, id, data, self.at)
        self.recorded.append({"kind": kind, "work_order_id": id, **data})

    def end(self, *, has_more: bool) -> list[dict[str, Any]]:
        """After the page: keep what a snapshot began with for its next page; put away the
        pool's notices of jobs no longer in the pool (once the pull is complete)."""
        if self.snapshot and has_more:
            kept = {"quiet": self.quiet, "mine": sorted(self.mine), "pool": sorted(self.pool)}
            _meta_put(self.con, SNAPSHOT, kept)
        else:
            _meta_put(self.con, SNAPSHOT, None)
        if not has_more:
            self.con.execute(
                "INSERT INTO dismissed (key, dismissed_at) SELECT 'notice:' || n.id, ?"
                " FROM notices n WHERE n.kind = ? AND n.work_order_id NOT IN"
                " (SELECT id FROM entities WHERE entity = ?)"
                " ON CONFLICT (key) DO NOTHING",
                (self.at, CLAIMABLE, CLAIMABLE),
            )
        return self.recorded


def _meta(con: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    found = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if found is None else dict(json.loads(found["value"]))


def _meta_put(con: sqlite3.Connection, key: str, value: dict[str, Any] | None) -> None:
    con.execute("DELETE FROM meta WHERE key = ?", (key,))
    if value is not None:
        con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))


def claimed(con: sqlite3.Connection, work_order_id: str, at: str) -> None:
    """The server gave the engineer the job they claimed: its arrival will not be news."""
    con.execute(
        "INSERT INTO dismissed (key, dismissed_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        (CLAIMED + work_order_id, at),
    )


def settle_claims(con: sqlite3.Connection, at: str) -> None:
    """Claims whose job left the pool are settled: their keys are spent, and the job, if it
    comes as the engineer's, is one they asked for."""
    gone = "work_order_id NOT IN (SELECT id FROM entities WHERE entity = 'claimable')"
    for r in con.execute(f"SELECT work_order_id FROM claims WHERE {gone}").fetchall():  # noqa: S608
        claimed(con, str(r["work_order_id"]), at)
    con.execute(f"DELETE FROM claims WHERE {gone}")  # noqa: S608
