"""The "needs attention" list: what the server refused or flagged, and work that left the
phone, each with the server's reason, so nothing the engineer did disappears silently.

Items come from the records themselves (nothing is copied, so the list cannot drift from
them): rejected outbox mutations (with the server's problem; ``flag_id`` when a dispatcher
was asked to review it, e.g. a completion after the office cancelled, evidence after a
reassignment), the flags the server put on the engineer's check-ins and check-outs (far
from the site, device clock skew), van stock lines flagged for reconciliation (used below
zero), and the notices of work orders that left the phone or arrived on it (new jobs of
the engineer's, ``gone`` when such a job has left the phone since; new jobs in the claim
pool, put away by themselves once the job leaves the pool: ``mobile.store.notices``).
Dismissing an item hides it from the list (table ``dismissed``); the record stays.

Each item: ``key`` (for ``dismiss_attention``), ``kind``, ``work_order_id`` (None for van
stock), ``number`` and ``title`` when the phone knows the work order, ``reason`` (the
server's words for a rejection, the reason code for a notice, a short sentence for a flag),
``detail`` (the problem or the flag's data) and ``at`` (when it happened, ISO 8601).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from mobile.store import notices, rows, search
from mobile.store.core import ENGINEER_ID, StoreCore, meta_get

Item = dict[str, Any]
_CHECKS = (("check_in", "checked in"), ("check_out", "checked out"))


class Attention(StoreCore):
    def attention(self) -> list[Item]:
        """Everything that needs the engineer's attention, newest first."""
        with self._read() as con:
            dismissed = {r[0] for r in con.execute("SELECT key FROM dismissed").fetchall()}
            items = [*_rejected(con), *_visit_flags(con), *_stock_flags(con)]
            items = [i for i in items if i["key"] not in dismissed] + notices.listed(con)
            departed = notices.names(con)
            for item in items:
                _name_work_order(con, item, departed)
                if item["kind"] == notices.ASSIGNED:  # arrived, and left since?
                    item["gone"] = rows.load(con, rows.WORK_ORDER, item["work_order_id"]) is None
        # Newest first; at the same instant, the later record first (a mutation's seq).
        order = sorted(enumerate(items), key=lambda pair: (_newest_first(pair[1]), -pair[0]))
        return [item for _, item in order]

    def dismiss_attention(self, key: str) -> None:
        """Put an item away: it leaves the list for good; the record it comes from stays."""
        with self.transaction() as con:
            con.execute(
                "INSERT INTO dismissed (key, dismissed_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (key, self.device_time()),
            )


def _newest_first(item: Item) -> float:
    try:
        return -dt.datetime.fromisoformat(str(item["at"])).timestamp()
    except (TypeError, ValueError):
        return 0.0


def _name_work_order(
    con: sqlite3.Connection, item: Item, departed: dict[str, dict[str, Any]]
) -> None:
    """The work order's number and title, from the phone's row or, once it has left,
    from its notice."""
    if item.get("work_order_id") is None:
        return
    key = str(item["work_order_id"])
    row = rows.load(con, rows.WORK_ORDER, key) or departed.get(key) or {}
    item["number"] = item.get("number") or row.get("number")
    item["title"] = item.get("title") or row.get("title")


def _work_order_of(con: sqlite3.Connection, args: dict[str, Any]) -> str | None:
    """The work order a mutation was about (check-outs and labour corrections name a
    visit or an entry: the phone may still hold it)."""
    if args.get("work_order_id"):
        return str(args["work_order_id"])
    for entity, key in ((rows.VISIT, "visit_id"), (rows.LABOUR, "entry_id")):
        if args.get(key) and (found := rows.load(con, entity, str(args[key]))) is not None:
            return None if found.get("work_order_id") is None else str(found["work_order_id"])
    return None


def _rejected(con: sqlite3.Connection) -> Iterator[Item]:
    found = con.execute(
        "SELECT seq, name, args, device_time, result FROM outbox"
        " WHERE state = 'rejected' ORDER BY seq"
    ).fetchall()
    for r in found:
        error = dict((json.loads(r["result"]) if r["result"] else {}).get("error") or {})
        yield {
            "key": f"rejected:{r['seq']}",
            "kind": "rejected",
            "work_order_id": _work_order_of(con, dict(json.loads(r["args"]))),
            "reason": error.get("detail") or error.get("title") or error.get("code"),
            "detail": {**error, "mutation": r["name"], "seq": r["seq"]},
            "at": r["device_time"],
        }


def _visit_flags(con: sqlite3.Connection) -> Iterator[Item]:
    """Far from the site, clock skew: on the engineer's own visits, as the server saw them."""
    me = meta_get(con, ENGINEER_ID)
    found = con.execute("SELECT id, data FROM entities WHERE entity = ?", (rows.VISIT,))
    for r in found.fetchall():
        visit = dict(json.loads(r["data"]))
        if me is not None and visit.get("engineer_id") not in (None, me):
            continue
        for side, did in _CHECKS:
            common = {
                "work_order_id": visit.get("work_order_id"),
                "at": visit.get(f"{side}_device_at"),
            }
            if visit.get(f"{side}_far_from_site"):
                distance = visit.get(f"{side}_distance_m")
                where = "without a position" if distance is None else f"{distance:.0f} m away"
                yield {
                    "key": f"far_from_site:{r['id']}:{side}",
                    "kind": "far_from_site",
                    "reason": f"{did} {where} from the site",
                    "detail": {"visit_id": r["id"], "side": side, "distance_m": distance},
                    **common,
                }
            if visit.get(f"{side}_clock_skew"):
                yield {
                    "key": f"clock_skew:{r['id']}:{side}",
                    "kind": "clock_skew",
                    "reason": f"the phone's clock was off when it {did}",
                    "detail": {"visit_id": r["id"], "side": side},
                    **common,
                }


def _stock_flags(con: sqlite3.Connection) -> Iterator[Item]:
    """Van stock used below what the van holds: someone must count the van."""
    found = con.execute(
        "SELECT id, data FROM entities WHERE entity = ?", (search.STOCK_BALANCE,)
    ).fetchall()
    for r in found:
        line = dict(json.loads(r["data"]))
        if not line.get("needs_reconciliation"):
            continue
        part = rows.load(con, search.PART, r["id"]) or {}
        yield {
            "key": f"negative_stock:{r['id']}:{line.get('updated_at')}",
            "kind": "negative_stock",
            "work_order_id": None,
            "reason": f"the van has {line.get('on_hand')} of {part.get('sku') or r['id']}: "
            "count it",
            "detail": {
                "part_id": r["id"],
                "sku": part.get("sku"),
                "name": part.get("name"),
                "on_hand": line.get("on_hand"),
            },
            "at": line.get("updated_at"),
        }
