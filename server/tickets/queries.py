"""The work-order list: filters a dispatcher needs, keyset pagination, sorting."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.crud import escape_like
from server.pagination import (
    Page,
    cursor_datetime,
    cursor_int,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
)
from server.tickets.models import Ticket
from server.tickets.service import visible_tickets

_FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
_FAR_FUTURE_SQL: ColumnElement[dt.datetime] = literal_column(
    "'9999-01-01 00:00:00+00'::timestamptz"
)


@dataclass
class TicketFilter:
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    sla_state: list[str] = field(default_factory=list)
    assignee_id: uuid.UUID | None = None
    unassigned: bool | None = None
    customer_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    due_from: dt.datetime | None = None
    due_to: dt.datetime | None = None
    q: str | None = None


def _sort_expr(key: str) -> ColumnElement[Any]:
    if key == "priority":
        # P1 first when ascending; stable by creation inside one priority is handled by id.
        return case({"P1": 1, "P2": 2, "P3": 3, "P4": 4}, value=Ticket.priority)
    if key == "resolution_due_at":
        # Rendered as a literal, exactly as in ix_tickets_org_open_due, so the planner can
        # match the index whatever plan (generic or custom) it makes.
        return func.coalesce(Ticket.resolution_due_at, _FAR_FUTURE_SQL)
    column: ColumnElement[Any] = getattr(Ticket, key)
    return column


def _where(query: Select[Any], actor: Actor, f: TicketFilter) -> Select[Any]:
    query = query.where(visible_tickets(actor))
    simple: list[tuple[Any, list[str]]] = [
        (Ticket.status, f.status),
        (Ticket.priority, f.priority),
        (Ticket.type, f.type),
        (Ticket.sla_state, f.sla_state),
    ]
    for column, values in simple:
        if values:
            query = query.where(column.in_(values))
    for column, value in (
        (Ticket.assignee_id, f.assignee_id),
        (Ticket.customer_id, f.customer_id),
        (Ticket.site_id, f.site_id),
        (Ticket.asset_id, f.asset_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.unassigned is not None:
        query = query.where(
            Ticket.assignee_id.is_(None) if f.unassigned else Ticket.assignee_id.is_not(None)
        )
    if f.created_from:
        query = query.where(Ticket.created_at >= f.created_from)
    if f.created_to:
        query = query.where(Ticket.created_at < f.created_to)
    if f.due_from:
        query = query.where(Ticket.resolution_due_at >= f.due_from)
    if f.due_to:
        query = query.where(Ticket.resolution_due_at < f.due_to)
    if f.q:
        needle = escape_like(f.q.lower())
        query = query.where(Ticket.search_text.like(f"%{needle}%", escape="\\"))
    return query


async def list_tickets(
    session: AsyncSession,
    actor: Actor,
    *,
    filters: TicketFilter,
    sort: str = "-created_at",
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Ticket]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    expr = _sort_expr(key)
    query = _where(select(Ticket), actor, filters)
    if cursor:
        value, last_id = decode_cursor(cursor, length=2)
        bound = tuple_(expr, Ticket.id)
        after = (_parse(key, value), cursor_uuid(last_id))
        query = query.where(bound < after if descending else bound > after)
    order = [expr.desc(), Ticket.id.desc()] if descending else [expr.asc(), Ticket.id.asc()]
    rows: list[Ticket] = list(
        (await session.scalars(query.order_by(*order).limit(limit + 1))).all()
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_value(key, last), str(last.id)])
    return Page(items=rows, next_cursor=next_cursor)


def _value(key: str, ticket: Ticket) -> Any:
    if key == "priority":
        return int(ticket.priority[1])
    if key == "resolution_due_at":
        return (ticket.resolution_due_at or _FAR_FUTURE).isoformat()
    value = getattr(ticket, key)
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _parse(key: str, value: Any) -> Any:
    """The decoded sort value, checked against the sort key's type (400 if it does not fit)."""
    if key in ("created_at", "updated_at", "resolution_due_at"):
        return cursor_datetime(value)
    if key == "priority":
        return cursor_int(value, low=1, high=4)
    return cursor_int(value)  # number: BIGINT
