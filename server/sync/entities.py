"""What the pull feed sends: entity names, how each is read and serialised, and which
model changes feed which entity (the capture registry).

Entities of an engineer's scope belong to a work order (``Child``: visits, labour, notes,
answers, part lines, attachments, signatures, the stock ledger's reservation lines) or are
the work orders themselves and the customers, sites and assets they reference
(server/sync/scope.py). Catalogue entities (``Catalogue``: parts, checklist templates) are
the organisation's, for every engineer.

A row is sent as ``data``: its columns as JSON (UUIDs, instants and decimals as strings),
without ``org_id``, with ``work_order_id`` for every child (whatever the table calls it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attachments import Attachment, Signature
from server.customers import Asset, Customer, Site
from server.feed import CATALOGUE, engineer_scope
from server.field import (
    ChecklistAnswer,
    ChecklistItem,
    ChecklistTemplate,
    FieldPartLine,
    LabourApproval,
    LabourEntry,
    LabourVoid,
    TicketNote,
    Visit,
    VisitCheck,
)
from server.parts import Part, StockMovement
from server.sync import capture, reservations
from server.sync.capture import Change, Note
from server.sync.scope import FINISHED
from server.tickets import Ticket, format_number

WORK_ORDER = "work_order"


def jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def row_data(row: Any, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column in row.__table__.columns:
        key = column.key
        if key == "org_id" or key in exclude:
            continue
        name = "work_order_id" if key == "ticket_id" else key
        data[name] = jsonable(getattr(row, key))
    return data


@dataclass(frozen=True)
class Record:
    id: str
    data: dict[str, Any]
    work_order_id: uuid.UUID | None = None


def _uuids(ids: Sequence[str]) -> list[uuid.UUID]:
    out = []
    for value in ids:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue  # a feed row always holds a UUID; be lenient all the same
    return out


Decorate = Callable[[AsyncSession, list[Any]], Awaitable[dict[uuid.UUID, dict[str, Any]]]]


@dataclass(frozen=True)
class Child:
    """An entity that belongs to a work order (in scope when its work order is)."""

    name: str
    model: Any
    work_order_column: str = "ticket_id"
    exclude: frozenset[str] = frozenset()
    decorate: Decorate | None = None  # extra fields from related rows, by row id
    where: Callable[[], Any] | None = None  # the model's rows that are this entity

    async def _records(self, session: AsyncSession, rows: list[Any]) -> list[Record]:
        extra = await self.decorate(session, rows) if self.decorate and rows else {}
        return [
            Record(
                str(row.id),
                {**row_data(row, self.exclude), **extra.get(row.id, {})},
                getattr(row, self.work_order_column),
            )
            for row in rows
        ]

    async def by_ids(
        self, session: AsyncSession, org_id: uuid.UUID, ids: Sequence[str]
    ) -> dict[str, Record]:
        query = select(self.model).where(
            self.model.org_id == org_id, self.model.id.in_(_uuids(ids))
        )
        if self.where is not None:
            query = query.where(self.where())
        rows = await session.scalars(query)
        return {r.id: r for r in await self._records(session, list(rows))}

    async def by_work_orders(
        self,
        session: AsyncSession,
        org_id: uuid.UUID,
        work_order_ids: Any,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        """Rows of these work orders (a list or a subquery of ids), by id."""
        column = getattr(self.model, self.work_order_column)
        query = select(self.model).where(self.model.org_id == org_id, column.in_(work_order_ids))
        if self.where is not None:
            query = query.where(self.where())
        if after is not None:
            query = query.where(self.model.id > uuid.UUID(after))
        query = query.order_by(self.model.id)
        if limit is not None:
            query = query.limit(limit)
        return await self._records(session, list(await session.scalars(query)))


@dataclass(frozen=True)
class Catalogue:
    """An organisation-wide entity every engineer gets."""

    name: str
    model: Any
    exclude: frozenset[str] = frozenset()
    decorate: Decorate | None = None
    where: Callable[[], Any] | None = None

    async def _records(self, session: AsyncSession, rows: list[Any]) -> list[Record]:
        extra = await self.decorate(session, rows) if self.decorate and rows else {}
        return [
            Record(str(row.id), {**row_data(row, self.exclude), **extra.get(row.id, {})})
            for row in rows
        ]

    async def by_ids(
        self, session: AsyncSession, org_id: uuid.UUID, ids: Sequence[str]
    ) -> dict[str, Record]:
        query = select(self.model).where(
            self.model.org_id == org_id, self.model.id.in_(_uuids(ids))
        )
        rows = list(await session.scalars(query))
        return {r.id: r for r in await self._records(session, rows)}

    async def page(
        self, session: AsyncSession, org_id: uuid.UUID, *, after: str | None, limit: int
    ) -> list[Record]:
        query = select(self.model).where(self.model.org_id == org_id)
        if after is not None:
            query = query.where(self.model.id > uuid.UUID(after))
        rows = list(await session.scalars(query.order_by(self.model.id).limit(limit)))
        return await self._records(session, rows)


# --- decorations: one entity row built from several tables ---------------------------------


def _gps(check: VisitCheck) -> dict[str, float] | None:
    if check.lat is None or check.lon is None:
        return None
    return {"lat": check.lat, "lon": check.lon, "accuracy_m": check.accuracy_m or 0.0}


async def _visit_checks(
    session: AsyncSession, visits: list[Any]
) -> dict[uuid.UUID, dict[str, Any]]:
    rows = await session.scalars(
        select(VisitCheck).where(VisitCheck.visit_id.in_([v.id for v in visits]))
    )
    out: dict[uuid.UUID, dict[str, Any]] = defaultdict(
        lambda: {"check_in_device_at": None, "check_out_device_at": None}
    )
    for check in rows:
        side = "check_in" if check.kind == "in" else "check_out"
        out[check.visit_id].update(
            {
                f"{side}_device_at": jsonable(check.device_time),
                f"{side}_received_at": jsonable(check.received_at),
                f"{side}_gps": _gps(check),
                f"{side}_distance_m": check.distance_m,
                f"{side}_far_from_site": check.far_from_site,
                f"{side}_clock_skew": check.clock_skew,
            }
        )
    return {v.id: out[v.id] for v in visits}


async def _labour_state(
    session: AsyncSession, entries: list[Any]
) -> dict[uuid.UUID, dict[str, Any]]:
    ids = [e.id for e in entries]
    voids = {
        v.entry_id: v
        for v in await session.scalars(select(LabourVoid).where(LabourVoid.entry_id.in_(ids)))
    }
    approvals = {
        a.entry_id: a
        for a in await session.scalars(
            select(LabourApproval).where(LabourApproval.entry_id.in_(ids))
        )
    }
    rows = await session.execute(
        select(LabourEntry.replaces_id, LabourEntry.id).where(LabourEntry.replaces_id.in_(ids))
    )
    replaced = {old: new for old, new in rows}
    out = {}
    for entry in entries:
        void, approval = voids.get(entry.id), approvals.get(entry.id)
        out[entry.id] = {
            "voided_by": str(void.id) if void else None,
            "void_reason": void.reason if void else None,
            "replaced_by": jsonable(replaced.get(entry.id)),
            "approved_at": jsonable(approval.approved_at) if approval else None,
            "approved_by": approval.approved_by if approval else None,
        }
    return out


async def _part_line(session: AsyncSession, lines: list[Any]) -> dict[uuid.UUID, dict[str, Any]]:
    out = {}
    for line in lines:
        request = line.request or {}
        out[line.id] = {
            "direction": line.action,
            "serial_numbers": request.get("serial_numbers"),
            "removed_serial_numbers": request.get("removed_serial_numbers"),
            "removed_condition": request.get("removed_condition"),
            "condition": request.get("condition"),
        }
    return out


async def _template_items(
    session: AsyncSession, templates: list[Any]
) -> dict[uuid.UUID, dict[str, Any]]:
    rows = await session.scalars(
        select(ChecklistItem)
        .where(
            ChecklistItem.template_id.in_([t.id for t in templates]),
            ChecklistItem.retired_at.is_(None),
        )
        .order_by(ChecklistItem.template_id, ChecklistItem.position)
    )
    items: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for item in rows:
        items[item.template_id].append(row_data(item, frozenset({"template_id", "retired_at"})))
    return {t.id: {"items": items[t.id]} for t in templates}


# --- the registry --------------------------------------------------------------------------

CHILDREN: tuple[Child, ...] = (
    Child("visit", Visit, decorate=_visit_checks),
    Child("labour_entry", LabourEntry, decorate=_labour_state),
    Child(
        "part_line", FieldPartLine, exclude=frozenset({"action", "request"}), decorate=_part_line
    ),
    Child("note", TicketNote),
    Child("checklist_answer", ChecklistAnswer),
    Child("attachment", Attachment, work_order_column="work_order_id"),
    Child("signature", Signature, work_order_column="work_order_id"),
    # The office's reservations for the job (server/sync/reservations.py).
    Child(
        reservations.RESERVATION,
        StockMovement,
        exclude=reservations.EXCLUDED,
        decorate=reservations.location,
        where=reservations.lines,
    ),
)
CATALOGUES: tuple[Catalogue, ...] = (
    Catalogue("part", Part),
    Catalogue("checklist_template", ChecklistTemplate, decorate=_template_items),
)
CHILD_BY_NAME = {c.name: c for c in CHILDREN}
CATALOGUE_BY_NAME = {c.name: c for c in CATALOGUES}
# Work-order columns the phone does not get (internal, or noise that would re-send rows).
TICKET_HIDDEN = frozenset(
    {"search_text", "sla_next_check_at", "paused_seconds", "sla_policy_id", "created_by"}
)
TICKET_IGNORED = TICKET_HIDDEN | {"updated_at", "version"}
REFERENCES: dict[str, Any] = {"customer": Customer, "site": Site, "asset": Asset}


def work_order_data(ticket: Ticket) -> dict[str, Any]:
    data = row_data(ticket, TICKET_HIDDEN)
    data["number"] = format_number(ticket.number)
    return data


# --- capture: which model change feeds which entity ----------------------------------------


def _op(change: Change) -> str:
    return "delete" if change == "deleted" else "put"


REFERENCE_COLUMNS = (("customer", "customer_id"), ("site", "site_id"), ("asset", "asset_id"))


def _ticket(ticket: Ticket, change: Change) -> list[Note]:
    """A work order's own scope row; its membership changes (assignee, references) are
    ``scope`` rows, which the pull answers with the work order's dependents too; finishing
    puts it in the history of every engineer with open work on the same asset.

    A reference the work order no longer makes (the office corrected its site or asset)
    gets a row of its own for the engineers who held the work order: the pull resolves it
    to ``remove`` unless other work of theirs still references it (an asset's removal
    takes its service history along, server/sync/resolve.py)."""
    org, wid = ticket.org_id, str(ticket.id)

    def to(engineer_id: Any, op: str) -> Note:
        return Note(org, WORK_ORDER, wid, op, "scope", engineer_scope(engineer_id))

    if change == "deleted":
        return [to(ticket.assignee_id, "delete")] if ticket.assignee_id else []
    keys = capture.changed(ticket) if change == "dirty" else set()
    if change == "dirty" and not keys - TICKET_IGNORED:
        return []
    notes = []
    moved = change == "new" or bool(keys & {"assignee_id", "customer_id", "site_id", "asset_id"})
    holders: set[uuid.UUID] = set() if ticket.assignee_id is None else {ticket.assignee_id}
    if "assignee_id" in keys:
        old = capture.previous(ticket, "assignee_id")
        if old is not None and old != ticket.assignee_id:
            notes.append(to(old, "scope"))
            holders.add(old)
    if ticket.assignee_id is not None:
        notes.append(to(ticket.assignee_id, "scope" if moved else "put"))
    for entity, column in REFERENCE_COLUMNS:
        if column not in keys:
            continue
        before = capture.previous(ticket, column)
        if before is None or before == getattr(ticket, column):
            continue
        for engineer_id in holders:
            notes.append(
                Note(org, entity, str(before), "put", "scope", engineer_scope(engineer_id))
            )
    if ticket.asset_id is not None and ticket.status in FINISHED and "status" in keys:
        notes.append(Note(org, WORK_ORDER, wid, "put", "asset", str(ticket.asset_id)))
    return notes


def _reference(entity: str) -> capture.Capturer:
    def capturer(row: Any, change: Change) -> list[Note]:
        if change == "dirty" and not capture.changed(row) - {"updated_at", "version"}:
            return []
        return [Note(row.org_id, entity, str(row.id), _op(change), entity, str(row.id))]  # type: ignore[arg-type]

    return capturer


def _child(
    entity: str, id_attr: str = "id", via: str = "ticket", key_attr: str = "ticket_id"
) -> capture.Capturer:
    def capturer(row: Any, change: Change) -> list[Note]:
        op = _op(change) if id_attr == "id" else "put"  # a related row changes its entity
        key = str(getattr(row, key_attr))
        return [Note(row.org_id, entity, str(getattr(row, id_attr)), op, via, key)]  # type: ignore[arg-type]

    return capturer


def _labour_entry(row: Any, change: Change) -> list[Note]:
    """A labour entry's own row; an adjustment also changes the entry it replaces (whose
    ``replaced_by`` now names it), so that one is sent again too."""
    notes = _child("labour_entry")(row, change)
    if change == "new" and getattr(row, "replaces_id", None) is not None:
        notes += _child("labour_entry", "replaces_id")(row, change)
    return notes


def _catalogue(entity: str, id_attr: str = "id") -> capture.Capturer:
    def capturer(row: Any, change: Change) -> list[Note]:
        op = _op(change) if id_attr == "id" else "put"
        return [Note(row.org_id, entity, str(getattr(row, id_attr)), op, "scope", CATALOGUE)]

    return capturer


_CAPTURERS: dict[type, capture.Capturer] = {
    Ticket: _ticket,
    Customer: _reference("customer"),
    Site: _reference("site"),
    Asset: _reference("asset"),
    Part: _catalogue("part"),
    ChecklistTemplate: _catalogue("checklist_template"),
    ChecklistItem: _catalogue("checklist_template", "template_id"),
    Visit: _child("visit"),
    VisitCheck: _child("visit", "visit_id", "visit", "visit_id"),
    LabourEntry: _labour_entry,
    LabourVoid: _child("labour_entry", "entry_id"),
    LabourApproval: _child("labour_entry", "entry_id"),
    FieldPartLine: _child("part_line"),
    TicketNote: _child("note"),
    ChecklistAnswer: _child("checklist_answer"),
    Attachment: _child("attachment", key_attr="work_order_id"),
    Signature: _child("signature", key_attr="work_order_id"),
}
ALL_ENTITIES = (WORK_ORDER, *REFERENCES, *CHILD_BY_NAME, *CATALOGUE_BY_NAME, "stock_balance")


def install() -> None:
    for model, capturer in _CAPTURERS.items():
        capture.register(model, capturer)
    capture.install()
