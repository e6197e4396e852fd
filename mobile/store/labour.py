"""Labour: time entries, their corrections (void, adjust) and the running timers.

A timer (table ``timers``) is a row of its own, not a mutation: starting it sends nothing.
Stopping it records a ``labour.add`` through the same path as a manual entry, in the SAME
transaction as deleting the timer, so a kill at any instruction leaves either the running
timer or the recorded entry, never both and never neither. A work order has at most one
running timer; starting another kind stops (and records) the one running.

What a timer records: the start rounded down and the stop rounded up to the whole second,
so a timer stopped after 20 seconds records 20 to 21 seconds, and one stopped in the same
second it started records one second (the server takes any span that ends after it starts:
``_check_span``). A timer left running longer than ``MAX_LABOUR_HOURS`` (the most one entry
covers) is recorded as consecutive entries of at most that long; a device clock set back
while it ran leaves a one-second entry. Either is for the engineer to correct
(``adjust_labour``), as nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from mobile.store import rows
from mobile.store.actions import ActionRefused, Actions, _new_id
from mobile.store.rows import Effect, Row
from shared.sync import MAX_LABOUR_HOURS
from shared.times import InstantError, parse_instant

# labour.add's kinds (shared.sync.MUTATIONS; tests/mobile/store/test_timers.py checks).
TIMER_KINDS = ("travel", "work", "break")
_SECOND = dt.timedelta(seconds=1)


class Labour(Actions):
    def add_labour(
        self,
        work_order_id: str,
        *,
        kind: str,
        started_at: str,
        ended_at: str,
        visit_id: str | None = None,
        note: str | None = None,
        con: sqlite3.Connection | None = None,
    ) -> str:
        """A time entry (its id is returned); in the caller's transaction when ``con``."""
        _check_span(started_at, ended_at)
        args = {
            "kind": kind,
            "started_at": started_at,
            "ended_at": ended_at,
            "visit_id": visit_id,
            "note": note,
        }
        return self._create(work_order_id, "labour.add", rows.LABOUR, "entry_id", args, con=con)

    def _labour_entry(self, entry_id: str) -> Row:
        entry = self.get(rows.LABOUR, entry_id)
        if entry is None:
            raise ActionRefused("this labour entry is not on the phone", "entry_id")
        return entry

    def void_labour(self, entry_id: str, *, reason: str) -> str:
        entry = self._labour_entry(entry_id)
        void_id = _new_id()

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            _correctable(con, wo, entry_id)
            args = {"entry_id": entry_id, "void_id": void_id, "reason": reason}
            patch = {"voided_by": void_id, "void_reason": reason}
            return args, [Effect.update(rows.LABOUR, entry_id, patch)]

        self._act(str(entry["work_order_id"]), "labour.void", decide)
        return void_id

    def adjust_labour(
        self,
        entry_id: str,
        *,
        started_at: str,
        ended_at: str,
        reason: str,
        kind: str | None = None,
        note: str | None = None,
    ) -> str:
        """Correct a time entry: a new entry (its id is returned) replaces it, on the same
        work order and visit; ``kind`` defaults to the original's, ``note`` is the new
        entry's own. The original stays, marked ``replaced_by``. Only an active entry of
        the engineer's own that is not approved can be corrected (as on the server)."""
        entry = self._labour_entry(entry_id)
        _check_span(started_at, ended_at)
        adjustment_id = _new_id()

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            original = _correctable(con, wo, entry_id)
            args = {
                "work_order_id": wo["id"],
                "entry_id": entry_id,
                "adjustment_id": adjustment_id,
                "started_at": started_at,
                "ended_at": ended_at,
                "reason": reason,
                "kind": kind,
                "note": note,
            }
            new = {
                **{k: original.get(k) for k in ("engineer_id", "visit_id")},
                **{k: v for k, v in args.items() if k not in ("entry_id", "adjustment_id")},
                "kind": kind or original.get("kind"),
                "replaces_id": entry_id,
            }
            return args, [
                Effect.create(rows.LABOUR, adjustment_id, new),
                Effect.update(rows.LABOUR, entry_id, {"replaced_by": adjustment_id}),
            ]

        self._act(str(entry["work_order_id"]), "labour.adjust", decide)
        return adjustment_id

    # --- timers -------------------------------------------------------------------------

    def start_timer(self, work_order_id: str, kind: str, *, visit_id: str | None = None) -> None:
        """Start a travel, work or break timer; one of another kind (or visit) running on the
        work order is stopped and recorded first. Starting the one that runs changes
        nothing."""
        if kind not in TIMER_KINDS:
            raise ActionRefused(f"must be one of {', '.join(TIMER_KINDS)}", "kind")
        now = self.clock()
        with self.transaction() as con:
            self._work_order(con, work_order_id)
            running = _timer(con, work_order_id)
            if running is not None:
                if (running["kind"], running["visit_id"]) == (kind, visit_id):
                    return
                self._record_timer(con, work_order_id, running, now)
            con.execute(
                "INSERT INTO timers (work_order_id, kind, started_at, visit_id)"
                " VALUES (?, ?, ?, ?)",
                (work_order_id, kind, now.isoformat(), visit_id),
            )

    def stop_timer(self, work_order_id: str) -> str | None:
        """Stop the work order's timer and record its labour entry (the id is returned);
        None when no timer was running."""
        now = self.clock()
        with self.transaction() as con:
            running = _timer(con, work_order_id)
            if running is None:
                return None
            return self._record_timer(con, work_order_id, running, now)

    def running_timer(self, work_order_id: str) -> dict[str, Any] | None:
        """``{kind, started_at, visit_id}`` of the work order's running timer, or None."""
        with self._read() as con:
            return _timer(con, work_order_id)

    def running_timers(self) -> list[dict[str, Any]]:
        """Every running timer (``work_order_id``, ``kind``, ``started_at``, ``visit_id``),
        oldest first."""
        with self._read() as con:
            found = con.execute(
                "SELECT work_order_id, kind, started_at, visit_id FROM timers"
                " ORDER BY started_at, work_order_id"
            ).fetchall()
        return [dict(r) for r in found]

    def _record_timer(
        self, con: sqlite3.Connection, work_order_id: str, running: Row, now: dt.datetime
    ) -> str:
        """The timer's labour entries and the timer's end, in the caller's transaction; the
        id of the entry that ends now."""
        entry = ""
        for start, end in _spans(running["started_at"], now):
            entry = self.add_labour(
                work_order_id,
                kind=running["kind"],
                started_at=start.isoformat(timespec="seconds"),
                ended_at=end.isoformat(timespec="seconds"),
                visit_id=running["visit_id"],
                con=con,
            )
        con.execute("DELETE FROM timers WHERE work_order_id = ?", (work_order_id,))
        return entry

    def _stop_in(self, con: sqlite3.Connection, work_order_id: str) -> None:
        """Record a running timer before the work order stops taking records (declined,
        or leaving the phone). One the phone can no longer record (the job was declined
        before) ends without an entry."""
        running = _timer(con, work_order_id)
        if running is None:
            return
        try:
            self._record_timer(con, work_order_id, running, self.clock())
        except ActionRefused:
            con.execute("DELETE FROM timers WHERE work_order_id = ?", (work_order_id,))

    def _reject_in(self, con: sqlite3.Connection, work_order_id: str, reason: str) -> None:
        self._stop_in(con, work_order_id)
        super()._reject_in(con, work_order_id, reason)

    def _leaving(self, con: sqlite3.Connection, work_order_id: str, data: dict[str, Any]) -> None:
        # The time goes to the server, which keeps it for the office if the job is no
        # longer the engineer's (a rejected mutation, with its flag).
        self._stop_in(con, work_order_id)
        super()._leaving(con, work_order_id, data)


def _timer(con: sqlite3.Connection, work_order_id: str) -> dict[str, Any] | None:
    found = con.execute(
        "SELECT kind, started_at, visit_id FROM timers WHERE work_order_id = ?",
        (work_order_id,),
    ).fetchone()
    return None if found is None else dict(found)


def _spans(started_at: str, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) pieces of a timer's run: whole seconds, at least one, each at most
    MAX_LABOUR_HOURS long."""
    start = dt.datetime.fromisoformat(started_at).replace(microsecond=0)
    end = now.astimezone(start.tzinfo)
    if end.microsecond:
        end = end.replace(microsecond=0) + _SECOND
    end = max(end, start + _SECOND)
    most = dt.timedelta(hours=MAX_LABOUR_HOURS)
    pieces = []
    while end - start > most:
        pieces.append((start, start + most))
        start += most
    pieces.append((start, end))
    return pieces


def _check_span(started_at: str, ended_at: str) -> None:
    """A labour span as the server takes it: the end after the start, at most
    ``MAX_LABOUR_HOURS`` later. ISO strings with different offsets do not compare as text:
    the instants are compared."""
    try:
        length = parse_instant(ended_at) - parse_instant(started_at)
    except InstantError:
        return  # check_args names the malformed, offset-less or out-of-bounds one
    if length <= dt.timedelta(0):
        raise ActionRefused("must be after started_at", "ended_at")
    if length > dt.timedelta(hours=MAX_LABOUR_HOURS):
        raise ActionRefused(
            f"an entry covers at most {MAX_LABOUR_HOURS} hours: split it", "ended_at"
        )


def _correctable(con: sqlite3.Connection, work_order: Row, entry_id: str) -> Row:
    """The labour entry to void or adjust, as the phone holds it now, if the server would
    let the engineer correct it (server/field/labour/service.py): not voided or replaced already
    (correct the newer record), not approved (the back office corrects it then), their
    own (on their work order, the assignee's)."""
    entry = rows.load(con, rows.LABOUR, entry_id)
    if entry is None:
        raise ActionRefused("this labour entry is not on the phone", "entry_id")
    if entry.get("voided_by"):
        raise ActionRefused("this labour entry is voided: nothing to correct", "entry_id")
    if entry.get("replaced_by"):
        raise ActionRefused(
            f"this labour entry was replaced by {entry['replaced_by']}: correct that one",
            "entry_id",
        )
    if entry.get("approved_at"):
        raise ActionRefused(
            "this labour entry is approved: ask the office to correct it", "entry_id"
        )
    owner, mine = entry.get("engineer_id"), work_order.get("assignee_id")
    if owner and mine and owner != mine:
        raise ActionRefused("a colleague's labour entry: you correct your own only", "entry_id")
    return entry
