"""What the engineer does, as the UI calls it: each action checks the work order's state with
the shared state machine, then writes its local effect and its outbox mutation in ONE local
transaction (``Actions._act``; labour and its timers are in ``mobile.store.labour``). The
mutation's name and arguments are exactly those of ``shared.sync.MUTATIONS`` and are checked
with ``check_args`` before anything is written.

Every record the phone creates gets its own UUIDv7 here, returned to the caller, and is the
id the server will store (creating twice is creating once).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mobile.store import rows
from mobile.store.rows import Effect, Row
from mobile.store.uploads import Uploads
from shared.ids import uuid7
from shared.lifecycle import Action, Status, TransitionNotAllowed, transition
from shared.sync import ProtocolError, check_args

# The status a check-in starts from, and the transition it makes (server/field/visits/service.py).
_CHECK_IN_FROM: dict[str, Action | None] = {
    Status.ACCEPTED: Action.ARRIVE,
    Status.TRAVELLING: Action.ARRIVE,
    Status.ON_HOLD: Action.RESUME,
    Status.ON_SITE: None,
}
Gps = Mapping[str, float]  # {"lat", "lon", "accuracy_m"}
Decide = Callable[[sqlite3.Connection, Row], tuple[dict[str, Any], list[Effect]]]


class ActionRefused(Exception):
    """The action cannot be recorded; ``field`` names what to fix (as in problem+json)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _new_id() -> str:
    return str(uuid7())


class Actions(Uploads):
    """The actions the UI calls (labour and its timers: ``mobile.store.labour``)."""

    # --- the one write path -------------------------------------------------------------

    def _act(self, work_order_id: str, name: str, decide: Decide) -> None:
        """Load the work order, let ``decide`` compute the mutation's args and local effects,
        check the args, and write effects + outbox row in one transaction."""
        with self.transaction() as con:
            self._act_in(con, work_order_id, name, decide)

    def _act_in(
        self, con: sqlite3.Connection, work_order_id: str, name: str, decide: Decide
    ) -> None:
        """``_act`` inside the caller's transaction (an action that writes more than one
        mutation, or a row of its own beside it: a labour timer)."""
        work_order = self._work_order(con, work_order_id)
        args, effects = decide(con, work_order)
        try:
            checked = check_args(name, args)
        except ProtocolError as exc:
            raise ActionRefused(exc.message, exc.field) from None
        self._enqueue(con, name, checked, effects)

    @staticmethod
    def _work_order(con: sqlite3.Connection, work_order_id: str) -> Row:
        """The work order as the phone shows it, if the engineer may still record on it."""
        work_order = rows.load(con, rows.WORK_ORDER, str(work_order_id))
        if work_order is None:
            raise ActionRefused("this work order is not on the phone", "work_order_id")
        if work_order.get("status") == Status.NEW.value:
            # Only a job the engineer declined is ``new`` on the phone (the scope holds
            # assigned and finished work): it is no longer theirs to record on.
            raise ActionRefused(
                "you declined this work order: nothing more can be recorded on it",
                "work_order_id",
            )
        return work_order

    @staticmethod
    def _target(work_order: Row, action: Action) -> Status:
        try:
            return transition(Status(work_order["status"]), action).target
        except (TransitionNotAllowed, ValueError, KeyError) as exc:
            raise ActionRefused(str(exc), "status") from None

    def _transition(
        self,
        work_order_id: str,
        action: Action,
        name: str,
        args: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        """A status change; ``fields`` are work-order fields it sets (named as the server's
        row names them, so the optimistic row looks like the one the pull will bring)."""

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            target = self._target(wo, action)
            patch = {"status": target.value}
            patch.update({k: v for k, v in (fields or {}).items() if v is not None})
            return {"work_order_id": wo["id"], **(args or {})}, [
                Effect.update(rows.WORK_ORDER, wo["id"], patch)
            ]

        self._act(work_order_id, name, decide)

    # --- work-order status --------------------------------------------------------------

    def accept(self, work_order_id: str) -> None:
        self._transition(work_order_id, Action.ACCEPT, "work_order.accept")

    def start_travel(self, work_order_id: str) -> None:
        self._transition(work_order_id, Action.START_TRAVEL, "work_order.start_travel")

    def hold(self, work_order_id: str, *, waiting_for: str, reason: str) -> None:
        """On hold, waiting for ``parts``, the ``customer`` (the SLA clock pauses) or
        ``other``: the reason says what."""
        args = {"waiting_for": waiting_for, "reason": reason}
        self._transition(work_order_id, Action.HOLD, "work_order.hold", args)

    def resume(self, work_order_id: str) -> None:
        self._transition(work_order_id, Action.RESUME, "work_order.resume")

    def reject(self, work_order_id: str, *, reason: str) -> None:
        """Decline the job (only while ``assigned``, as on the server): it goes back to the
        office, unassigned. The phone shows it so at once (the row as the server will
        have it: ``new``, no assignee) and refuses anything more on it; the next pull
        removes it, with its records. Should the server refuse the reject (the office
        reassigned or cancelled the job first), the row shows the server's again."""
        with self.transaction() as con:
            self._reject_in(con, work_order_id, reason)

    def _reject_in(self, con: sqlite3.Connection, work_order_id: str, reason: str) -> None:
        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            target = self._target(wo, Action.REJECT)
            patch = {"status": target.value, "assignee_id": None}
            args = {"work_order_id": wo["id"], "reason": reason}
            return args, [Effect.update(rows.WORK_ORDER, wo["id"], patch)]

        self._act_in(con, work_order_id, "work_order.reject", decide)

    def resolve(
        self,
        work_order_id: str,
        *,
        resolution_code: str,
        summary: str,
        fault_code: str | None = None,
        root_cause: str | None = None,
    ) -> None:
        args = {
            "resolution_code": resolution_code,
            "summary": summary,
            "fault_code": fault_code,
            "root_cause": root_cause,
        }
        fields = {
            "resolution_code": resolution_code,
            "resolution_summary": summary,
            "fault_code": fault_code,
            "root_cause": root_cause,
            # The server sets it too (its own clock): the "done" list sorts by it meanwhile.
            "resolved_at": self.device_time(),
        }
        self._transition(work_order_id, Action.RESOLVE, "work_order.resolve", args, fields)

    def update_findings(
        self,
        work_order_id: str,
        *,
        fault_code: str | None = None,
        resolution_code: str | None = None,
        root_cause: str | None = None,
        resolution_summary: str | None = None,
        resolution_notes: str | None = None,
    ) -> None:
        """Record findings and resolution fields (any status): each one given replaces the
        server's, one left out (None) is kept. At least one."""
        given = {
            "fault_code": fault_code,
            "resolution_code": resolution_code,
            "root_cause": root_cause,
            "resolution_summary": resolution_summary,
            "resolution_notes": resolution_notes,
        }
        fields = {k: v for k, v in given.items() if v is not None}
        if not fields:
            raise ActionRefused(f"give at least one of {', '.join(given)}", "args")

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            args = {"work_order_id": wo["id"], **fields}
            return args, [Effect.update(rows.WORK_ORDER, wo["id"], fields)]

        self._act(work_order_id, "work_order.update_findings", decide)

    # --- visits -------------------------------------------------------------------------

    def check_in(
        self, work_order_id: str, gps: Gps | None = None, *, visit_id: str | None = None
    ) -> str:
        """Start a visit (one open visit at a time). Arriving moves the work order on site;
        checking in on a work order on hold resumes it, as the server does."""
        visit_id = visit_id or _new_id()
        now = self.device_time()

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            status = wo.get("status")
            if status not in _CHECK_IN_FROM:
                allowed = ", ".join(_CHECK_IN_FROM)
                raise ActionRefused(
                    f"cannot check in on a work order that is {status}; "
                    f"check-in needs it {allowed}",
                    "status",
                )
            if any(not v.get("check_out_device_at") for v in self._visits(con, wo["id"])):
                raise ActionRefused("check out of the open visit first", "visit_id")
            effects = [
                Effect.create(
                    rows.VISIT,
                    visit_id,
                    {
                        "work_order_id": wo["id"],
                        "check_in_device_at": now,
                        "check_in_gps": dict(gps) if gps else None,
                        "check_out_device_at": None,
                    },
                )
            ]
            if (action := _CHECK_IN_FROM[status]) is not None:
                target = self._target(wo, action)
                effects.append(Effect.update(rows.WORK_ORDER, wo["id"], {"status": target.value}))
            args = {"work_order_id": wo["id"], "visit_id": visit_id, "gps": gps}
            return args, effects

        self._act(work_order_id, "visit.check_in", decide)
        return visit_id

    @staticmethod
    def _visits(con: sqlite3.Connection, work_order_id: str) -> list[Row]:
        found = con.execute(
            "SELECT data FROM entities WHERE entity = ? AND work_order_id = ?",
            (rows.VISIT, work_order_id),
        ).fetchall()
        return [dict(json.loads(r["data"])) for r in found]

    def check_out(self, visit_id: str, gps: Gps | None = None) -> None:
        visit = self.get(rows.VISIT, visit_id)
        if visit is None:
            raise ActionRefused("this visit is not on the phone", "visit_id")
        now = self.device_time()

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            current = rows.load(con, rows.VISIT, visit_id) or {}
            if current.get("check_out_device_at"):
                raise ActionRefused("this visit is already checked out", "visit_id")
            patch = {"check_out_device_at": now, "check_out_gps": dict(gps) if gps else None}
            args = {"visit_id": visit_id, "gps": gps}
            return args, [Effect.update(rows.VISIT, visit_id, patch)]

        self._act(str(visit["work_order_id"]), "visit.check_out", decide)

    # --- field facts (append-only) ------------------------------------------------------

    def _create(
        self,
        work_order_id: str,
        name: str,
        entity: str,
        id_arg: str,
        args: Mapping[str, Any],
        row: Mapping[str, Any] | None = None,
        *,
        con: sqlite3.Connection | None = None,
    ) -> str:
        """A new record (its id is returned); in the caller's transaction when ``con``."""
        new_id = _new_id()

        def decide(con: sqlite3.Connection, wo: Row) -> tuple[dict[str, Any], list[Effect]]:
            full = {"work_order_id": wo["id"], id_arg: new_id, **args}
            local = {k: v for k, v in {**full, **(row or {})}.items() if k != id_arg}
            return full, [Effect.create(entity, new_id, local)]

        if con is None:
            self._act(work_order_id, name, decide)
        else:
            self._act_in(con, work_order_id, name, decide)
        return new_id

    def use_part(
        self,
        work_order_id: str,
        *,
        part_id: str,
        quantity: str,
        visit_id: str | None = None,
        serial_numbers: Sequence[str] | None = None,
        removed_serial_numbers: Sequence[str] | None = None,
        removed_condition: str | None = None,
    ) -> str:
        args = {
            "part_id": part_id,
            "quantity": quantity,
            "visit_id": visit_id,
            "serial_numbers": None if serial_numbers is None else list(serial_numbers),
            "removed_serial_numbers": (
                None if removed_serial_numbers is None else list(removed_serial_numbers)
            ),
            "removed_condition": removed_condition,
        }
        row = {"direction": "use"}
        return self._create(work_order_id, "part.use", rows.PART_LINE, "line_id", args, row)

    def return_part(
        self,
        work_order_id: str,
        *,
        part_id: str,
        quantity: str,
        condition: str,
        visit_id: str | None = None,
        serial_numbers: Sequence[str] | None = None,
    ) -> str:
        args = {
            "part_id": part_id,
            "quantity": quantity,
            "condition": condition,
            "visit_id": visit_id,
            "serial_numbers": None if serial_numbers is None else list(serial_numbers),
        }
        row = {"direction": "return"}
        return self._create(work_order_id, "part.return", rows.PART_LINE, "line_id", args, row)

    def add_note(self, work_order_id: str, text: str, *, visit_id: str | None = None) -> str:
        args = {"text": text, "visit_id": visit_id}
        return self._create(work_order_id, "note.add", rows.NOTE, "note_id", args)

    def answer_checklist(
        self, work_order_id: str, *, visit_id: str, item_id: str, value: Any
    ) -> str:
        args = {"visit_id": visit_id, "item_id": item_id, "value": value}
        return self._create(
            work_order_id, "checklist.answer", rows.CHECKLIST_ANSWER, "answer_id", args
        )
