"""Why a work order left the phone, written in the transaction of the pulled page that
removed it (functions take the caller's connection; none commits).

The server's ``remove`` of a work order says why (server/sync/resolve.py): ``reassigned``
(to a colleague, never named), ``unassigned``, ``cancelled`` or ``out_of_scope``; a
``delete`` means it no longer exists. The engineer is told when the job was theirs as the
phone showed it: not for a colleague's finished job that was only there as an asset's
history, nor for a job they declined themselves (the phone already shows it unassigned),
nor for their own finished job ageing out of the recent-work window.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mobile.store import rows

FINISHED = frozenset({"resolved", "closed", "cancelled"})
DEPARTED = "removed"  # the notice's kind, as Store.attention() lists it


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
