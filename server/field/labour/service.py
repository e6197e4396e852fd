"""Labour: time entries (travel, work, break), their corrections, approval and totals.

- An entry (the phone's ``entry_id``) has a kind, a start and an end (device times; the end
  after the start, at most 24 hours later), the engineer, the work order, optionally the
  visit. Entries are never edited or deleted.
- A correction is a new record: a **void** (the phone's ``void_id``, with a reason) takes an
  entry out of the totals; an **adjustment** (``adjustment_id``) is a new entry that replaces
  an earlier one (which then no longer counts). An entry is voided or replaced at most once
  (409 ``labour_not_active`` otherwise); to correct a correction, void or adjust the newer
  entry. Engineers correct their own entries only, and not once approved (409
  ``labour_approved``): after approval, corrections are the back office's.
- ``states`` tells, for each entry, whether it is active, voided or replaced, and its
  approval; ``totals`` adds up the active ones. Approval and the per-work-order and
  per-day totals are in labour_review.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.engineers import Engineer
from server.errors import Conflict, Forbidden, NotFound, Unprocessable
from server.field import access
from server.field.models import LabourApproval, LabourEntry, LabourKind, LabourVoid
from shared.sync import MAX_LABOUR_HOURS

MAX_ENTRY = dt.timedelta(hours=MAX_LABOUR_HOURS)  # the phone checks the same before queueing
NEW_ENTRY = access.NewRecord(
    "labour_entries",
    "labour_entry",
    (
        ("id", "uuid"),
        ("engineer_id", "uuid"),
        ("visit_id", "uuid"),
        ("kind", "text"),
        ("started_at", "timestamptz"),
        ("ended_at", "timestamptz"),
        ("note", "text"),
        ("recorded_by", "text"),
        ("received_at", "timestamptz"),
    ),
)


class LabourNotActive(Conflict):
    code, title = "labour_not_active", "Labour entry already voided or replaced"


class LabourApproved(Conflict):
    code, title = "labour_approved", "Labour entry already approved"


@dataclass(frozen=True)
class EntryState:
    """An entry with what happened to it since."""

    entry: LabourEntry
    void: LabourVoid | None
    replaced_by_id: uuid.UUID | None
    approval: LabourApproval | None

    @property
    def state(self) -> str:
        if self.void is not None:
            return "voided"
        return "replaced" if self.replaced_by_id is not None else "active"

    @property
    def seconds(self) -> int:
        return int((self.entry.ended_at - self.entry.started_at).total_seconds())

    def seconds_within(self, start: dt.datetime, end: dt.datetime) -> int:
        overlap = min(self.entry.ended_at, end) - max(self.entry.started_at, start)
        return max(0, int(overlap.total_seconds()))


@dataclass(frozen=True)
class Totals:
    by_kind: dict[LabourKind, int]
    entries: int
    unapproved: int

    @property
    def worked_seconds(self) -> int:
        return self.by_kind[LabourKind.TRAVEL] + self.by_kind[LabourKind.WORK]


def _kind(value: LabourKind | str) -> LabourKind:
    try:
        return LabourKind(value)
    except ValueError:
        raise Unprocessable(
            f"must be one of {', '.join(k.value for k in LabourKind)}", field="kind"
        ) from None


def _span(
    started_at: dt.datetime | str, ended_at: dt.datetime | str
) -> tuple[dt.datetime, dt.datetime]:
    start = access.instant(started_at, "started_at")
    end = access.instant(ended_at, "ended_at")
    if end <= start:
        raise Unprocessable("ended_at must be after started_at", field="ended_at")
    if end - start > MAX_ENTRY:
        raise Unprocessable("an entry covers at most 24 hours: split it", field="ended_at")
    return start, end


async def _engineer_for(
    session: AsyncSession, actor: Actor, ticket_assignee: uuid.UUID | None, named: uuid.UUID | None
) -> uuid.UUID:
    if actor.is_engineer:
        assert actor.engineer_id is not None
        if named is not None and named != actor.engineer_id:
            raise Forbidden("engineers record their own time", field="engineer_id")
        return actor.engineer_id
    engineer_id = named or ticket_assignee
    if engineer_id is None:
        raise Unprocessable("the work order has no engineer: name engineer_id", field="engineer_id")
    found = await session.scalar(
        select(Engineer.id).where(Engineer.id == engineer_id, Engineer.org_id == actor.org_id)
    )
    if found is None:
        raise Unprocessable(f"engineer {engineer_id} not found", field="engineer_id")
    return engineer_id


async def _entry(session: AsyncSession, actor: Actor, entry_id: uuid.UUID) -> LabourEntry | None:
    entry = await session.get(LabourEntry, entry_id)
    if entry is not None:
        await access.require_visible(
            session,
            actor,
            org_id=entry.org_id,
            ticket_id=entry.ticket_id,
            what="labour entry",
            record_id=entry_id,
        )
    return entry


def _content(entry: LabourEntry) -> dict[str, object]:
    return {
        "work_order_id": entry.ticket_id,
        "engineer_id": entry.engineer_id,
        "visit_id": entry.visit_id,
        "kind": entry.kind,
        "started_at": entry.started_at,
        "ended_at": entry.ended_at,
        "note": entry.note,
        "replaces_id": entry.replaces_id,
        "reason": entry.reason,
    }


async def _insert_entry(
    session: AsyncSession, actor: Actor, entry: LabourEntry, what: str
) -> LabourEntry:
    raced = await access.insert(
        session,
        [entry],
        existing=lambda: _entry(session, actor, entry.id),
        what=what,
        record_id=entry.id,
    )
    if raced is not None:
        access.same_content(what, entry.id, _content(raced), _content(entry))
        return raced
    return entry


async def add_labour(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    entry_id: uuid.UUID,
    kind: LabourKind | str,
    started_at: dt.datetime | str,
    ended_at: dt.datetime | str,
    visit_id: uuid.UUID | None = None,
    note: str | None = None,
    engineer_id: uuid.UUID | None = None,
) -> LabourEntry:
    access.require_field_writer(actor, "record labour")
    kind = _kind(kind)
    start, end = _span(started_at, ended_at)
    note = access.text(note, "note", limit=2000, required=False)
    entry = LabourEntry(
        id=entry_id,
        org_id=actor.org_id,
        ticket_id=ticket_id,
        engineer_id=actor.engineer_id if actor.is_engineer else engineer_id,
        visit_id=visit_id,
        kind=kind.value,
        started_at=start,
        ended_at=end,
        note=note,
        replaces_id=None,
        reason=None,
        recorded_by=actor.label,
        received_at=access.now(),
    )
    if actor.is_engineer and engineer_id in (None, actor.engineer_id):
        # The phone's everyday case: one statement when nothing stands in the way.
        if await access.insert_new(session, actor, NEW_ENTRY, entry):
            return entry
    ticket = await access.work_order(session, actor, ticket_id)
    entry.engineer_id = await _engineer_for(session, actor, ticket.assignee_id, engineer_id)
    if (found := await _entry(session, actor, entry_id)) is not None:
        access.same_content("labour entry", entry_id, _content(found), _content(entry))
        return found
    await access.check_visit(session, actor, ticket.id, visit_id)
    return await _insert_entry(session, actor, entry, "labour entry")


async def _correctable(
    session: AsyncSession, actor: Actor, entry_id: uuid.UUID, ticket_id: uuid.UUID | None
) -> EntryState:
    """The entry to void or adjust, locked, checked active and correctable by the caller."""
    entry = await session.scalar(
        select(LabourEntry)
        .where(LabourEntry.id == entry_id, LabourEntry.org_id == actor.org_id)
        .with_for_update()
    )
    if entry is None or (ticket_id is not None and entry.ticket_id != ticket_id):
        raise NotFound(f"labour entry {entry_id} not found")
    try:
        await access.work_order(session, actor, entry.ticket_id)
    except NotFound:
        raise NotFound(f"labour entry {entry_id} not found") from None
    (state,) = await states(session, [entry])
    if state.state != "active":
        other = state.void.id if state.void else state.replaced_by_id
        raise LabourNotActive(
            f"labour entry {entry_id} is already {state.state} (by {other}); correct the "
            "newer record instead",
            state=state.state,
        )
    if actor.is_engineer:
        if entry.engineer_id != actor.engineer_id:
            raise Forbidden("engineers correct their own labour entries only")
        if state.approval is not None:
            raise LabourApproved(
                f"labour entry {entry_id} was approved by {state.approval.approved_by}: ask "
                "the back office to correct it"
            )
    return state


async def void_labour(
    session: AsyncSession,
    actor: Actor,
    *,
    entry_id: uuid.UUID,
    void_id: uuid.UUID,
    reason: str,
    ticket_id: uuid.UUID | None = None,
) -> LabourVoid:
    access.require_field_writer(actor, "void labour")
    text = access.text(reason, "reason", limit=2000)
    assert text is not None
    sent = {"entry_id": entry_id, "reason": text}
    if (found := await _void(session, actor, void_id)) is not None:
        access.same_content("labour void", void_id, _void_content(found), sent)
        return found
    state = await _correctable(session, actor, entry_id, ticket_id)
    void = LabourVoid(
        id=void_id,
        org_id=actor.org_id,
        ticket_id=state.entry.ticket_id,
        entry_id=entry_id,
        reason=text,
        recorded_by=actor.label,
        received_at=access.now(),
    )
    raced = await access.insert(
        session,
        [void],
        existing=lambda: _void(session, actor, void_id),
        what="labour void",
        record_id=void_id,
    )
    if raced is not None:
        access.same_content("labour void", void_id, _void_content(raced), sent)
        return raced
    return void


def _void_content(void: LabourVoid) -> dict[str, object]:
    return {"entry_id": void.entry_id, "reason": void.reason}


async def _void(session: AsyncSession, actor: Actor, void_id: uuid.UUID) -> LabourVoid | None:
    void = await session.get(LabourVoid, void_id)
    if void is not None:
        await access.require_visible(
            session,
            actor,
            org_id=void.org_id,
            ticket_id=void.ticket_id,
            what="labour void",
            record_id=void_id,
        )
    return void


async def adjust_labour(
    session: AsyncSession,
    actor: Actor,
    *,
    entry_id: uuid.UUID,
    adjustment_id: uuid.UUID,
    started_at: dt.datetime | str,
    ended_at: dt.datetime | str,
    reason: str,
    kind: LabourKind | str | None = None,
    note: str | None = None,
    ticket_id: uuid.UUID | None = None,
) -> LabourEntry:
    """A new entry replacing ``entry_id`` (same work order, engineer and visit)."""
    access.require_field_writer(actor, "adjust labour")
    start, end = _span(started_at, ended_at)
    why = access.text(reason, "reason", limit=2000)
    note = access.text(note, "note", limit=2000, required=False)
    new_kind = _kind(kind) if kind is not None else None
    found = await _entry(session, actor, adjustment_id)
    if found is not None:
        sent = {
            "replaces_id": entry_id,
            "started_at": start,
            "ended_at": end,
            "reason": why,
            "note": note,
            **({"kind": new_kind.value} if new_kind else {}),
        }
        access.same_content("labour adjustment", adjustment_id, _content(found), sent)
        return found
    original = (await _correctable(session, actor, entry_id, ticket_id)).entry
    entry = LabourEntry(
        id=adjustment_id,
        org_id=actor.org_id,
        ticket_id=original.ticket_id,
        engineer_id=original.engineer_id,
        visit_id=original.visit_id,
        kind=(new_kind or LabourKind(original.kind)).value,
        started_at=start,
        ended_at=end,
        note=note,
        replaces_id=original.id,
        reason=why,
        recorded_by=actor.label,
        received_at=access.now(),
    )
    return await _insert_entry(session, actor, entry, "labour adjustment")


async def states(session: AsyncSession, entries: list[LabourEntry]) -> list[EntryState]:
    """Each entry with its void, its replacement and its approval (three small queries)."""
    ids = [e.id for e in entries]
    if not ids:
        return []
    voids = {
        v.entry_id: v
        for v in await session.scalars(select(LabourVoid).where(LabourVoid.entry_id.in_(ids)))
    }
    rows = await session.execute(
        select(LabourEntry.replaces_id, LabourEntry.id).where(LabourEntry.replaces_id.in_(ids))
    )
    replaced = {original: newer for original, newer in rows}
    approvals = {
        a.entry_id: a
        for a in await session.scalars(
            select(LabourApproval).where(LabourApproval.entry_id.in_(ids))
        )
    }
    return [
        EntryState(e, voids.get(e.id), replaced.get(e.id), approvals.get(e.id)) for e in entries
    ]


def totals(
    items: Iterable[EntryState], window: tuple[dt.datetime, dt.datetime] | None = None
) -> Totals:
    """Seconds per kind of the active entries (only what falls inside ``window``)."""
    by_kind = dict.fromkeys(LabourKind, 0)
    count = unapproved = 0
    for item in items:
        if item.state != "active":
            continue
        seconds = item.seconds if window is None else item.seconds_within(*window)
        by_kind[LabourKind(item.entry.kind)] += seconds
        count += 1
        unapproved += item.approval is None
    return Totals(by_kind=by_kind, entries=count, unapproved=unapproved)
