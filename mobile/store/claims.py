"""The claim pool on the phone: the ``claimable`` rows the pull sends (open work orders the
engineer qualifies for), and the claims asked for.

Claiming is not an outbox mutation: whether the job is yours must be answered now, by the
server, so the sync engine calls the claim endpoint directly (``SyncEngine.claim``). The
store keeps only what makes a retry safe: the ``Idempotency-Key`` a claim was first sent
with (table ``claims``), until an answer settles it. Nothing else changes on the phone
before the server has answered: a claim whose answer was lost leaves the job in the pool
until a pull says otherwise (it arrives as your work, or leaves the pool as taken).
"""

from __future__ import annotations

import math
from typing import Any

from mobile.store import notices, rows
from mobile.store.core import StoreCore
from mobile.store.rows import Row
from shared.ids import uuid7

CLAIMABLE = "claimable"
_PRIORITIES = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}


def _due(value: Any) -> str:
    return value if isinstance(value, str) and value else "~"  # none last (ISO sorts)


def _pool_order(row: Row) -> tuple[Any, ...]:
    """The server's order for the pool (``GET /claims``): priority, window, number."""
    return (
        _PRIORITIES.get(str(row.get("priority")), math.inf),
        _due(row.get("window_start")),
        str(row.get("number") or ""),
        str(row.get("id")),
    )


class Claims(StoreCore):
    def claimables(self) -> list[Row]:
        """The pool, most urgent first (priority, then the window's start, then number)."""
        return sorted(self.all(CLAIMABLE), key=_pool_order)

    def claim_key(self, work_order_id: str) -> str:
        """The Idempotency-Key of a claim of this work order: the one it was first asked
        with while no answer has settled it (a retry is the same request), else a new one."""
        with self.transaction() as con:
            found = con.execute(
                "SELECT key FROM claims WHERE work_order_id = ?", (work_order_id,)
            ).fetchone()
            if found is not None:
                return str(found["key"])
            key = str(uuid7())
            con.execute(
                "INSERT INTO claims (work_order_id, key, asked_at) VALUES (?, ?, ?)",
                (work_order_id, key, self.device_time()),
            )
            return key

    def claim_answered(self, work_order_id: str, *, leaves_pool: bool, yours: bool = False) -> None:
        """The server answered the claim: its key is spent; ``leaves_pool`` when the
        answer took the job out of the pool (yours now, another engineer's, closed);
        ``yours``: the job that arrives with the next pull is no news to the engineer."""
        with self.transaction() as con:
            con.execute("DELETE FROM claims WHERE work_order_id = ?", (work_order_id,))
            if yours:
                notices.claimed(con, work_order_id, self.device_time())
            if leaves_pool:
                rows.drop(con, CLAIMABLE, work_order_id)

    def pending_claim(self, work_order_id: str) -> bool:
        """Whether a claim of this work order was sent and has no answer yet."""
        with self._read() as con:
            found = con.execute(
                "SELECT 1 FROM claims WHERE work_order_id = ?", (work_order_id,)
            ).fetchone()
        return found is not None
