"""Parts used on a work order, and parts taken back: thin over the stock ledger.

``use_part`` is a ``consume`` from the engineer's van to the work order's site (with the
serials of the units fitted and, optionally, of the units taken out of the asset, which
come back into the van as returns); ``return_part`` is a ``return`` from the site into the
van (``good``, or ``defective``: then into quarantine with an RMA). Both go through
server/parts/service.py ``create_movement``, so every rule of the ledger holds: reported by
the engineer, a consume is a field report that is never refused for lack of stock (the
van is flagged for a count instead).

The van: the caller's own for an engineer; for the back office recording on the engineer's
behalf, the van of the work order's engineer (then the movement is an ordinary, guarded
one).

Idempotency: the ledger is append-only and two identical lines are two real movements, so a
retry is recognised by the phone's ``line_id``, never by content. The line id maps to the
ledger line it wrote (``field_part_lines``): the same id again answers that line without
moving stock; with other content it is 409 ``client_id_reused``. The work order is locked
first, so two concurrent deliveries of one line wait for each other.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.customers import Asset
from server.engineers import Engineer
from server.errors import Unprocessable
from server.field import access
from server.field.models import FieldPartLine, PartAction
from server.parts import MovementCreate, MovementKind
from server.parts import service as parts_service
from server.text import path as input_path
from server.tickets import Ticket


def _quantity(value: Decimal | str | int) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise Unprocessable('must be a decimal, e.g. "2"', field="quantity") from None
    if not quantity.is_finite() or quantity <= 0 or quantity > 1_000_000_000:
        raise Unprocessable("must be positive and at most 1000000000", field="quantity")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise Unprocessable("at most 3 decimal places", field="quantity")
    return quantity.quantize(Decimal("0.001"))  # as the column stores it


async def _van_id(session: AsyncSession, actor: Actor, ticket: Ticket) -> uuid.UUID:
    engineer_id = actor.engineer_id if actor.is_engineer else ticket.assignee_id
    engineer = await session.scalar(
        select(Engineer).where(Engineer.id == engineer_id, Engineer.org_id == actor.org_id)
    )
    if engineer is None:
        raise Unprocessable("the work order has no engineer whose van the part is in")
    van = await parts_service.ensure_van(session, engineer)
    return van.id


async def _line(session: AsyncSession, actor: Actor, line_id: uuid.UUID) -> FieldPartLine | None:
    line = await session.get(FieldPartLine, line_id)
    if line is not None:
        await access.require_visible(
            session,
            actor,
            org_id=line.org_id,
            ticket_id=line.ticket_id,
            what="part line",
            record_id=line_id,
        )
    return line


def _request(action: PartAction, ticket_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """What the line asks for, as JSON (stored, and compared on a retry)."""
    out: dict[str, Any] = {"action": action.value, "work_order_id": str(ticket_id)}
    for name, value in fields.items():
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, Decimal):
            value = f"{value.normalize():f}"
        elif isinstance(value, Sequence) and not isinstance(value, str):
            value = list(value)
        out[name] = value
    return out


def _movement(
    action: PartAction,
    ticket: Ticket,
    part_id: uuid.UUID,
    amount: Decimal,
    visit_id: uuid.UUID | None,
    van: uuid.UUID,
    movement: dict[str, Any],
) -> MovementCreate:
    """The ledger movement a line asks for: a consume out of the van, or a return into it
    (422 naming the first field the ledger's input refuses)."""
    kind = MovementKind.CONSUME if action is PartAction.USE else MovementKind.RETURN
    try:
        return MovementCreate.model_validate(
            {
                "kind": kind,
                "part_id": part_id,
                "quantity": amount,
                "ticket_id": ticket.id,
                "visit_id": visit_id,
                ("from_location_id" if action is PartAction.USE else "to_location_id"): van,
                # Empty lists mean none (the phone may send [] for "no serials").
                **{k: v for k, v in movement.items() if v is not None and v != []},
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = input_path(first.get("loc", ())) or "body"
        raise Unprocessable(f"{where}: {first.get('msg', 'invalid')}", field=where) from None


async def _record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: PartAction,
    ticket_id: uuid.UUID,
    line_id: uuid.UUID,
    part_id: uuid.UUID,
    quantity: Decimal | str | int,
    visit_id: uuid.UUID | None,
    movement: dict[str, Any],
) -> FieldPartLine:
    access.require_field_writer(actor, "report parts")
    amount = _quantity(quantity)
    ticket = await access.work_order(session, actor, ticket_id, for_update=True)
    request = _request(
        action, ticket.id, part_id=part_id, quantity=amount, visit_id=visit_id, **movement
    )
    if (found := await _line(session, actor, line_id)) is not None:
        access.same_content("part line", line_id, found.request, request)
        return found
    await access.check_visit(session, actor, ticket.id, visit_id)
    van = await _van_id(session, actor, ticket)
    data = _movement(action, ticket, part_id, amount, visit_id, van, movement)
    ledger_line = await parts_service.create_movement(session, actor, data=data)
    line = FieldPartLine(
        id=line_id,
        org_id=actor.org_id,
        ticket_id=ticket.id,
        visit_id=visit_id,
        action=action.value,
        part_id=part_id,
        quantity=amount,
        movement_id=ledger_line.id,
        request=request,
        recorded_by=actor.label,
        received_at=access.now(),
    )
    raced = await access.insert(
        session,
        [line],
        existing=lambda: _line(session, actor, line_id),
        what="part line",
        record_id=line_id,
    )
    if raced is not None:
        # The same line id on another work order at the same time (one work order's
        # deliveries wait for each other on its lock): this movement must not stand.
        raise access.foreign_id("part line", line_id)
    return line


async def use_part(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    line_id: uuid.UUID,
    part_id: uuid.UUID,
    quantity: Decimal | str | int,
    visit_id: uuid.UUID | None = None,
    serial_numbers: list[str] | None = None,
    removed_serial_numbers: list[str] | None = None,
    removed_condition: str | None = None,
) -> FieldPartLine:
    return await _record(
        session,
        actor,
        action=PartAction.USE,
        ticket_id=ticket_id,
        line_id=line_id,
        part_id=part_id,
        quantity=quantity,
        visit_id=visit_id,
        movement={
            "serial_numbers": serial_numbers,
            "removed_serial_numbers": removed_serial_numbers,
            "removed_condition": removed_condition,
        },
    )


async def return_part(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    line_id: uuid.UUID,
    part_id: uuid.UUID,
    quantity: Decimal | str | int,
    condition: str,
    visit_id: uuid.UUID | None = None,
    serial_numbers: list[str] | None = None,
) -> FieldPartLine:
    if condition not in ("good", "defective"):
        raise Unprocessable("must be good or defective", field="condition")
    return await _record(
        session,
        actor,
        action=PartAction.RETURN,
        ticket_id=ticket_id,
        line_id=line_id,
        part_id=part_id,
        quantity=quantity,
        visit_id=visit_id,
        movement={"condition": condition, "serial_numbers": serial_numbers},
    )


async def list_lines(
    session: AsyncSession, actor: Actor, *, ticket_id: uuid.UUID
) -> list[FieldPartLine]:
    ticket = await access.work_order(session, actor, ticket_id)
    rows = await session.scalars(
        select(FieldPartLine)
        .where(FieldPartLine.ticket_id == ticket.id, FieldPartLine.org_id == actor.org_id)
        .order_by(FieldPartLine.received_at, FieldPartLine.id)
    )
    return list(rows)


# A part is typical for a product model when it was used on at least this share of the
# model's work orders that used any part in the last TYPICAL_DAYS; at most TYPICAL_MOST.
TYPICAL_SHARE = 0.3
TYPICAL_DAYS = 365
TYPICAL_MOST = 3


async def typical_parts(
    session: AsyncSession, org_id: uuid.UUID, models: Sequence[str], *, now: Any = None
) -> dict[str, frozenset[uuid.UUID]]:
    """The parts a product model's repairs typically need (dispatch: does the van hold
    them?): used on at least ``TYPICAL_SHARE`` of the model's work orders that used any
    part in the last ``TYPICAL_DAYS``, the ``TYPICAL_MOST`` most used."""
    if not models:
        return {}
    since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=TYPICAL_DAYS)
    used = (
        select(
            Asset.product_model.label("model"),
            FieldPartLine.part_id,
            func.count(func.distinct(FieldPartLine.ticket_id)).label("orders"),
        )
        .join(Ticket, Ticket.id == FieldPartLine.ticket_id)
        .join(Asset, Asset.id == Ticket.asset_id)
        .where(
            FieldPartLine.org_id == org_id,
            FieldPartLine.action == PartAction.USE.value,
            FieldPartLine.received_at >= since,
            Asset.product_model.in_(list(set(models))),
        )
        .group_by(Asset.product_model, FieldPartLine.part_id)
        .subquery()
    )
    totals = (
        select(
            Asset.product_model.label("model"),
            func.count(func.distinct(FieldPartLine.ticket_id)).label("orders"),
        )
        .join(Ticket, Ticket.id == FieldPartLine.ticket_id)
        .join(Asset, Asset.id == Ticket.asset_id)
        .where(
            FieldPartLine.org_id == org_id,
            FieldPartLine.action == PartAction.USE.value,
            FieldPartLine.received_at >= since,
            Asset.product_model.in_(list(set(models))),
        )
        .group_by(Asset.product_model)
        .subquery()
    )
    rows = await session.execute(
        select(used.c.model, used.c.part_id, used.c.orders)
        .join(totals, totals.c.model == used.c.model)
        .where(used.c.orders >= TYPICAL_SHARE * totals.c.orders)
        .order_by(used.c.model, used.c.orders.desc(), used.c.part_id)
    )
    found: dict[str, list[uuid.UUID]] = {}
    for model, part_id, _ in rows:
        picked = found.setdefault(model, [])
        if len(picked) < TYPICAL_MOST:
            picked.append(part_id)
    return {model: frozenset(parts) for model, parts in found.items()}
