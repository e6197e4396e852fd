"""Each mutation name (shared/sync.py ``MUTATIONS``) mapped to the domain service the REST
API calls: one write path, one set of rules. Arguments arrive checked by shared/sync.py;
the services check the rest (who, which work order, the state machine, client ids).

A handler returns the result's ``data`` (what the phone needs to know: ids, the new
status); anything it raises decides the rejection (server/sync/push.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import service as attachments
from server.auth import Actor
from server.errors import Conflict
from server.field import service as field
from server.sync.entities import jsonable
from server.sync.models import FlagKind
from server.tickets import Ticket
from server.tickets import service as tickets
from shared.lifecycle import Status
from shared.sync import Mutation


@dataclass(frozen=True)
class Context:
    client_id: uuid.UUID
    device_time: dt.datetime
    clock_offset_s: float | None  # device clock minus server clock, when the push says


class CompletedAfterCancel(Conflict):
    """A completion of a work order the office cancelled: rejected, and flagged."""

    code, title = "work_order_cancelled", "The office cancelled this work order"

    def __init__(self, ticket: Ticket, args: dict[str, Any]) -> None:
        super().__init__(
            "the office cancelled this work order before your completion arrived; your "
            "work is kept and a dispatcher has been asked to review it",
            work_order_id=str(ticket.id),
        )
        self.work_order_id = ticket.id
        self.flag_kind = FlagKind.COMPLETED_AFTER_CANCEL
        self.flag_payload = {"resolution": args}


Handler = Callable[[AsyncSession, Actor, dict[str, Any], Context], Awaitable[dict[str, Any]]]


def _id(args: dict[str, Any], name: str) -> uuid.UUID:
    return uuid.UUID(args[name])


def _status(ticket: Ticket) -> dict[str, Any]:
    return {"work_order_id": str(ticket.id), "status": ticket.status, "version": ticket.version}


async def _accept(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    return _status(await field.accept(s, a, ticket_id=_id(args, "work_order_id")))


async def _start_travel(
    s: AsyncSession, a: Actor, args: dict[str, Any], c: Context
) -> dict[str, Any]:
    return _status(await field.start_travel(s, a, ticket_id=_id(args, "work_order_id")))


async def _hold(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    ticket = await field.hold(
        s,
        a,
        ticket_id=_id(args, "work_order_id"),
        waiting_for=args["waiting_for"],
        reason=args["reason"],
    )
    return _status(ticket)


async def _resume(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    return _status(await field.resume(s, a, ticket_id=_id(args, "work_order_id")))


async def _reject(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    ticket = await field.reject(s, a, ticket_id=_id(args, "work_order_id"), reason=args["reason"])
    return _status(ticket)


async def _resolve(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    work_order_id = _id(args, "work_order_id")
    current = await tickets.get(s, a, ticket_id=work_order_id)
    if current.status == Status.CANCELLED.value:
        raise CompletedAfterCancel(current, args)
    ticket = await field.resolve(
        s,
        a,
        ticket_id=work_order_id,
        resolution_code=args["resolution_code"],
        summary=args["summary"],
        fault_code=args.get("fault_code"),
        root_cause=args.get("root_cause"),
    )
    return _status(ticket)


async def _findings(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    fields = {k: v for k, v in args.items() if k != "work_order_id"}
    return _status(
        await field.update_findings(s, a, ticket_id=_id(args, "work_order_id"), **fields)
    )


async def _check_in(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    record = await field.check_in(
        s,
        a,
        ticket_id=_id(args, "work_order_id"),
        visit_id=_id(args, "visit_id"),
        device_time=c.device_time,
        gps=args.get("gps"),
        clock_offset_s=c.clock_offset_s,
    )
    return {"visit_id": str(record.visit.id), "number": record.visit.number}


async def _check_out(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    record = await field.check_out(
        s,
        a,
        visit_id=_id(args, "visit_id"),
        device_time=c.device_time,
        gps=args.get("gps"),
        clock_offset_s=c.clock_offset_s,
    )
    return {"visit_id": str(record.visit.id)}


async def _labour_add(
    s: AsyncSession, a: Actor, args: dict[str, Any], c: Context
) -> dict[str, Any]:
    entry = await field.add_labour(
        s,
        a,
        ticket_id=_id(args, "work_order_id"),
        entry_id=_id(args, "entry_id"),
        kind=args["kind"],
        started_at=args["started_at"],
        ended_at=args["ended_at"],
        visit_id=uuid.UUID(args["visit_id"]) if args.get("visit_id") else None,
        note=args.get("note"),
    )
    return {"entry_id": str(entry.id)}


async def _labour_void(
    s: AsyncSession, a: Actor, args: dict[str, Any], c: Context
) -> dict[str, Any]:
    void = await field.void_labour(
        s, a, entry_id=_id(args, "entry_id"), void_id=_id(args, "void_id"), reason=args["reason"]
    )
    return {"void_id": str(void.id), "entry_id": str(void.entry_id)}


async def _labour_adjust(
    s: AsyncSession, a: Actor, args: dict[str, Any], c: Context
) -> dict[str, Any]:
    entry = await field.adjust_labour(
        s,
        a,
        entry_id=_id(args, "entry_id"),
        adjustment_id=_id(args, "adjustment_id"),
        started_at=args["started_at"],
        ended_at=args["ended_at"],
        reason=args["reason"],
        kind=args.get("kind"),
        note=args.get("note"),
        ticket_id=_id(args, "work_order_id"),
    )
    return {"adjustment_id": str(entry.id), "entry_id": str(entry.replaces_id)}


def _optional_id(args: dict[str, Any], name: str) -> uuid.UUID | None:
    return uuid.UUID(args[name]) if args.get(name) else None


def _line(line: Any) -> dict[str, Any]:
    return {
        "line_id": str(line.id),
        "movement_id": str(line.movement_id),
        "quantity": jsonable(line.quantity),
    }


async def _part_use(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    line = await field.use_part(
        s,
        a,
        ticket_id=_id(args, "work_order_id"),
        line_id=_id(args, "line_id"),
        part_id=_id(args, "part_id"),
        quantity=args["quantity"],
        visit_id=_optional_id(args, "visit_id"),
        serial_numbers=args.get("serial_numbers"),
        removed_serial_numbers=args.get("removed_serial_numbers"),
        removed_condition=args.get("removed_condition"),
    )
    return _line(line)


async def _part_return(
    s: AsyncSession, a: Actor, args: dict[str, Any], c: Context
) -> dict[str, Any]:
    line = await field.return_part(
        s,
        a,
        ticket_id=_id(args, "work_order_id"),
        line_id=_id(args, "line_id"),
        part_id=_id(args, "part_id"),
        quantity=args["quantity"],
        condition=args["condition"],
        visit_id=_optional_id(args, "visit_id"),
        serial_numbers=args.get("serial_numbers"),
    )
    return _line(line)


async def _answer(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    answer = await field.answer(
        s,
        a,
        ticket_id=_id(args, "work_order_id"),
        visit_id=_id(args, "visit_id"),
        item_id=_id(args, "item_id"),
        answer_id=_id(args, "answer_id"),
        value=args["value"],
        device_time=c.device_time,
    )
    return {"answer_id": str(answer.id)}


async def _note(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    note = await field.add_note(
        s,
        a,
        ticket_id=_id(args, "work_order_id"),
        note_id=_id(args, "note_id"),
        text=args["text"],
        visit_id=_optional_id(args, "visit_id"),
        device_time=c.device_time,
    )
    return {"note_id": str(note.id)}


async def _attachment(
    s: AsyncSession, a: Actor, args: dict[str, Any], c: Context
) -> dict[str, Any]:
    attachment = await attachments.register_attachment(
        s,
        a,
        attachment_id=args["attachment_id"],
        ticket_id=args["work_order_id"],
        sha256=args["sha256"],
        size=args["size"],
        mime=args["mime"],
        role=args["role"],
        visit_id=args.get("visit_id"),
        caption=args.get("caption"),
        captured_at=args.get("captured_at"),
        gps=args.get("gps"),
    )
    return {"attachment_id": str(attachment.id), "status": attachment.status}


async def _signature(s: AsyncSession, a: Actor, args: dict[str, Any], c: Context) -> dict[str, Any]:
    signature = await attachments.capture_signature(
        s,
        a,
        signature_id=args["signature_id"],
        ticket_id=args["work_order_id"],
        attachment_id=args["attachment_id"],
        sha256=args["sha256"],
        size=args["size"],
        signer_name=args["signer_name"],
        strokes=args["strokes"],
        signed_status=args["signed_status"],
        device_time=c.device_time,
        visit_id=args.get("visit_id"),
    )
    return {"signature_id": str(signature.id), "attachment_id": str(signature.attachment_id)}


HANDLERS: dict[str, Handler] = {
    "work_order.accept": _accept,
    "work_order.start_travel": _start_travel,
    "work_order.hold": _hold,
    "work_order.resume": _resume,
    "work_order.reject": _reject,
    "work_order.resolve": _resolve,
    "work_order.update_findings": _findings,
    "visit.check_in": _check_in,
    "visit.check_out": _check_out,
    "labour.add": _labour_add,
    "labour.void": _labour_void,
    "labour.adjust": _labour_adjust,
    "part.use": _part_use,
    "part.return": _part_return,
    "attachment.register": _attachment,
    "signature.capture": _signature,
    "checklist.answer": _answer,
    "note.add": _note,
}


# Mutations whose service writes nothing before it refuses (its writes are one statement,
# or in a savepoint of its own): the push runs them without a savepoint of its own.
# A work-order transition is not one (it changes the loaded work order, then may refuse).
ATOMIC = frozenset({"labour.add", "note.add", "checklist.answer", "visit.check_out"})


async def apply(
    session: AsyncSession, actor: Actor, mutation: Mutation, context: Context
) -> dict[str, Any]:
    return await HANDLERS[mutation.name](session, actor, mutation.args, context)
