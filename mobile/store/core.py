"""The store's plumbing: transactions, meta, the outbox, applying pulled pages.

One SQLite connection guarded by a lock (the UI and the sync engine may run on different
threads). Every write is one explicit ``BEGIN IMMEDIATE ... COMMIT``: a user action writes
its local effect and its outbox row together, a pulled page is applied together with its
cursor, so a crash at any instruction leaves either all of it or none of it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mobile.store import notices, rows, schema
from mobile.store.rows import Effect, Row
from shared.digits import ascii_uint
from shared.ids import uuid7
from shared.sync import Mutation, Op, Outcome, PullPage, Result

Clock = Callable[[], dt.datetime]

# Keys of the meta table.
CLIENT_ID = "client_id"
BASE_URL = "base_url"
CURSOR = "cursor"
LAST_SEQ = "last_seq"  # the highest seq the server has acknowledged
REGISTERED = "registered"
ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
ACCESS_EXPIRES_AT = "access_expires_at"
USERNAME = "username"
ORGANISATION = "organisation"  # the slug or id the last log-in named, if it needed one
# Who is logged in, as GET /api/v1/auth/me answered (mobile.store.session).
USER_ID = "user_id"
ORG_ID = "org_id"
ENGINEER_ID = "engineer_id"
FULL_NAME = "full_name"

UNSENT = ("pending", "sent")


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    id: str
    name: str
    args: dict[str, Any]
    device_time: str
    state: str
    result: dict[str, Any] | None
    acked: bool

    def mutation(self) -> Mutation:
        return Mutation(self.seq, self.id, self.name, self.args, self.device_time)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxEntry:
        return cls(
            seq=int(row["seq"]),
            id=row["id"],
            name=row["name"],
            args=json.loads(row["args"]),
            device_time=row["device_time"],
            state=row["state"],
            result=None if row["result"] is None else json.loads(row["result"]),
            acked=bool(row["acked"]),
        )


class StoreCore:
    def __init__(self, path: str | Path, *, clock: Clock = _now) -> None:
        self.path = Path(path)
        self.blob_dir = self.path.with_name(self.path.stem + "-blobs")  # signature PNGs
        self.clock = clock
        self._lock = threading.RLock()
        self._con = schema.connect(self.path)
        if self.get_meta(CLIENT_ID) is None:
            with self.transaction() as con:
                meta_set(con, CLIENT_ID, str(uuid7()))

    def close(self) -> None:
        with self._lock:
            self._con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One local transaction; rolled back if the block raises."""
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._con

    # --- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._read() as con:
            found = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if found is None else str(found["value"])

    def set_meta(self, **values: str | None) -> None:
        with self.transaction() as con:
            for key, value in values.items():
                meta_set(con, key, value)

    @property
    def client_id(self) -> str:
        value = self.get_meta(CLIENT_ID)
        assert value is not None
        return value

    @property
    def cursor(self) -> str | None:
        return self.get_meta(CURSOR)

    @property
    def last_seq(self) -> int:
        return int(self.get_meta(LAST_SEQ) or 0)

    # --- outbox ---------------------------------------------------------------------------

    def device_time(self) -> str:
        return self.clock().isoformat()

    def _enqueue(
        self, con: sqlite3.Connection, name: str, args: Mapping[str, Any], effects: Iterable[Effect]
    ) -> int:
        """Append a mutation and its local effects (inside the caller's transaction)."""
        cursor = con.execute(
            "INSERT INTO outbox (id, name, args, device_time) VALUES (?, ?, ?, ?)",
            (str(uuid7()), name, json.dumps(dict(args)), self.device_time()),
        )
        seq = cursor.lastrowid
        assert seq is not None
        rows.add_effects(con, seq, effects)
        return seq

    def outbox(self, *, states: Iterable[str] | None = None) -> list[OutboxEntry]:
        wanted = tuple(states or ("pending", "sent", "applied", "rejected"))
        marks = ", ".join("?" for _ in wanted)
        with self._read() as con:
            found = con.execute(
                f"SELECT * FROM outbox WHERE state IN ({marks}) ORDER BY seq",  # noqa: S608
                wanted,
            ).fetchall()
        return [OutboxEntry.from_row(r) for r in found]

    def unsent(self, limit: int, *, from_seq: int | None = None) -> list[OutboxEntry]:
        """The next mutations to push: the unanswered ones, or everything from ``from_seq``
        (after a 409 gap the server needs them again even if we had its answer)."""
        with self._read() as con:
            if from_seq is None:
                found = con.execute(
                    "SELECT * FROM outbox WHERE state IN ('pending', 'sent') ORDER BY seq LIMIT ?",
                    (limit,),
                ).fetchall()
            else:
                found = con.execute(
                    "SELECT * FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?", (from_seq, limit)
                ).fetchall()
        return [OutboxEntry.from_row(r) for r in found]

    def mark_sent(self, seqs: Iterable[int]) -> None:
        with self.transaction() as con:
            con.executemany(
                "UPDATE outbox SET state = 'sent' WHERE seq = ? AND state = 'pending'",
                [(s,) for s in seqs],
            )

    def record_results(self, results: Iterable[Result], *, last_seq: int | None = None) -> None:
        """The push response: each mutation's outcome. A rejection drops its local effects at
        once (nothing of it exists on the server); an applied mutation keeps them until its
        acknowledgement arrives through the pull feed with its effects."""
        with self.transaction() as con:
            rejected = [r.seq for r in results if _store_result(con, r)]
            rows.drop_effects(con, rejected)
            if last_seq is not None and last_seq > int(meta_get(con, LAST_SEQ) or 0):
                meta_set(con, LAST_SEQ, str(last_seq))

    # --- pull ---------------------------------------------------------------------------

    def apply_page(self, page: PullPage) -> list[dict[str, Any]]:
        """A pulled page and its cursor, in one transaction: all of it or none of it. The
        work that arrived with it (``mobile.store.notices.Arrivals``: each new job of the
        engineer's and of the pool, as recorded for the attention list), for the phone's
        notification."""
        with self.transaction() as con:
            arrivals = notices.Arrivals.begin(
                con,
                reset=page.reset,
                had_cursor=meta_get(con, CURSOR) is not None,
                engineer_id=meta_get(con, ENGINEER_ID),
                at=self.device_time(),
            )
            if page.reset:
                rows.forget_server_rows(con)
                # The snapshot was taken after our last push was answered, so it carries
                # the effects of every mutation the server has applied.
                answered = con.execute(
                    "SELECT seq FROM outbox WHERE state IN ('applied', 'rejected') AND acked = 0"
                ).fetchall()
                self._acknowledge(con, [int(a["seq"]) for a in answered])
            acked: list[int] = []
            for change in page.changes:
                if change.op is Op.PUT:
                    rows.put(con, change.entity, change.id, change.data or {})
                    arrivals.put(change.entity, change.id)
                elif change.op in (Op.DELETE, Op.REMOVE):
                    if change.entity == rows.WORK_ORDER:
                        # A server that says nothing about why: deleted, or out of scope.
                        said = "deleted" if change.op is Op.DELETE else "out_of_scope"
                        why = {"reason": said, **(change.data or {}), "op": change.op.value}
                        self._leaving(con, change.id, why)
                    rows.drop(con, change.entity, change.id)
                    arrivals.drop(change.entity, change.id)
                elif change.op is Op.ACK:
                    seq = _store_ack(con, change.id, change.data or {})
                    if seq is not None:
                        acked.append(seq)
            self._acknowledge(con, acked)
            # A claim whose answer was lost is settled by the pull that took its job out
            # of the pool (yours, or taken): its key is spent; if it comes as the
            # engineer's work, they asked for it: not news.
            notices.settle_claims(con, self.device_time())
            news = arrivals.end(has_more=page.has_more)
            meta_set(con, CURSOR, page.cursor)
        return news

    def _leaving(self, con: sqlite3.Connection, work_order_id: str, data: dict[str, Any]) -> None:
        """A work order is about to leave the phone (``remove`` or ``delete``; ``data`` is
        what the server said about why): the engineer is told, in the page's transaction."""
        notices.departure(
            con, work_order_id, data, engineer_id=meta_get(con, ENGINEER_ID), at=self.device_time()
        )

    def _acknowledge(self, con: sqlite3.Connection, seqs: list[int]) -> None:
        con.executemany("UPDATE outbox SET acked = 1 WHERE seq = ?", [(s,) for s in seqs])
        rows.drop_effects(con, seqs)

    # --- reads for the UI ---------------------------------------------------------------

    def get(self, entity: str, id: str) -> Row | None:
        with self._read() as con:
            return rows.load(con, entity, id)

    def work_orders(
        self,
        *,
        statuses: Iterable[str] | None = None,
        window_from: str | None = None,
        window_to: str | None = None,
    ) -> list[Row]:
        """Work orders by status and appointment window (ISO strings compare in order)."""
        sql, params = "SELECT data FROM entities WHERE entity = ?", [rows.WORK_ORDER]
        if statuses is not None:
            wanted = list(statuses)
            sql += f" AND status IN ({', '.join('?' for _ in wanted)})"
            params += wanted
        if window_from is not None:
            sql += " AND window_start >= ?"
            params.append(window_from)
        if window_to is not None:
            sql += " AND window_start < ?"
            params.append(window_to)
        sql += " ORDER BY window_start IS NULL, window_start, id"
        with self._read() as con:
            found = con.execute(sql, params).fetchall()
        return [dict(json.loads(r["data"])) for r in found]

    def children(self, entity: str, work_order_id: str) -> list[Row]:
        """A work order's visits, labour entries, notes, ... (oldest id first: UUIDv7)."""
        with self._read() as con:
            found = con.execute(
                "SELECT data FROM entities WHERE entity = ? AND work_order_id = ? ORDER BY id",
                (entity, work_order_id),
            ).fetchall()
        return [dict(json.loads(r["data"])) for r in found]

    def all(self, entity: str) -> list[Row]:
        with self._read() as con:
            found = con.execute(
                "SELECT data FROM entities WHERE entity = ? ORDER BY id", (entity,)
            ).fetchall()
        return [dict(json.loads(r["data"])) for r in found]

    def is_local(self, entity: str, id: str) -> bool:
        """Whether the row carries effects the server has not acknowledged yet."""
        with self._read() as con:
            found = con.execute(
                "SELECT local FROM entities WHERE entity = ? AND id = ?", (entity, id)
            ).fetchone()
        return bool(found and found["local"])


def meta_get(con: sqlite3.Connection, key: str) -> str | None:
    found = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if found is None else str(found["value"])


def meta_set(con: sqlite3.Connection, key: str, value: str | None) -> None:
    if value is None:
        con.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        con.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _store_result(con: sqlite3.Connection, result: Result) -> bool:
    """Record one mutation's outcome; True when it was rejected."""
    con.execute(
        "UPDATE outbox SET state = ?, result = ? WHERE seq = ?",
        (result.outcome.value, json.dumps(result.to_json()), result.seq),
    )
    return result.outcome is Outcome.REJECTED


def _seq_or_none(text: str) -> int | None:
    try:
        return ascii_uint(text, maximum=2**63 - 1)
    except ValueError:
        return None


def _store_ack(con: sqlite3.Connection, id: str, data: Mapping[str, Any]) -> int | None:
    """An ``ack`` change: the id is the seq (or the mutation's id); the data its result."""
    found = con.execute(
        "SELECT seq FROM outbox WHERE seq = ? OR id = ?", (_seq_or_none(id), id)
    ).fetchone()
    if found is None:
        return None  # not ours any more (the app was reinstalled): nothing to mark
    seq = int(found["seq"])
    if "outcome" in data:
        _store_result(con, Result.from_json({"seq": seq, **data}))
    else:
        con.execute(
            "UPDATE outbox SET state = 'applied' WHERE seq = ? AND state IN ('pending', 'sent')",
            (seq,),
        )
    return seq
