"""Turning feed rows into the changes a phone applies: every entity is sent as it is *now*.

A feed row only says "this entity changed for this scope". The pull reads the row as it is
when the pull runs and decides the op from the truth, not from the feed:

    the row is gone                     -> delete
    the row exists, in the scope        -> put (the full current row)
    the row exists, outside the scope   -> remove (e.g. the work order went to a colleague)

Serving current rows is what makes ordering by (txid, id) safe: two transactions that
update one row commit in lock order, which need not be txid order, so a feed that carried
the data written would let the earlier-numbered (but later) write lose. Current rows make
every served change converge on the truth, and a change committed after the pull has a
feed row the next pull serves.

A work order's ``remove`` says why it left, so the phone can tell the engineer: ``data`` is
``{"reason", "number", "title"}`` with reason ``unassigned`` (it has no engineer now),
``reassigned`` (another engineer has it: never who), ``cancelled`` (still theirs, but
cancelled and no longer recent) or ``out_of_scope`` (still theirs, finished and no longer
recent); number and title are the ones the phone held. A colleague's finished work order
that leaves with its asset's history gets a reason too: the phone knows it was not the
engineer's own and says nothing.

A ``scope`` row (a work order's assignee, customer, site or asset changed) brings the
work order's dependents along: its customer, site and asset, the asset's history, and its
field records, each resolved the same way. That is how a reassigned work order arrives on
the new engineer's phone with rows that did not change for years, and leaves the old one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.sync.entities import (
    CATALOGUE_BY_NAME,
    CHILD_BY_NAME,
    CHILDREN,
    REFERENCES,
    WORK_ORDER,
    Record,
    row_data,
    work_order_data,
)
from server.sync.models import SyncMutation
from server.sync.scope import Assigned, Engineer, history_query, load_assigned
from server.tickets import Ticket, format_number
from shared.digits import ascii_uint
from shared.sync import Change, Op

ACK_ENTITY = "mutation"


class Changes:
    """The page being built: each (entity, id) once, in first-seen order (a row changed
    before an acknowledgement must come before it; later changes are in its current data)."""

    def __init__(self) -> None:
        self.items: list[Change] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, change: Change) -> None:
        key = (change.entity, change.id)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(change)

    def __len__(self) -> int:
        return len(self.items)


def _put(entity: str, row_id: str, data: dict[str, Any]) -> Change:
    return Change(Op.PUT, entity, row_id, data)


def departure(ticket: Ticket, engineer_id: uuid.UUID) -> dict[str, Any]:
    """Why a work order is not in the engineer's scope, from the row alone (no query)."""
    if ticket.assignee_id is None:
        reason = "unassigned"
    elif ticket.assignee_id != engineer_id:
        reason = "reassigned"
    elif ticket.status == "cancelled":
        reason = "cancelled"
    else:
        reason = "out_of_scope"
    return {"reason": reason, "number": format_number(ticket.number), "title": ticket.title}


def _uuids(ids: Iterable[str]) -> list[uuid.UUID]:
    out = []
    for value in ids:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


def _seq(value: str) -> int | None:
    """A mutation's number as the feed writes it (a bigint in ASCII digits), or None."""
    try:
        return ascii_uint(value, maximum=2**63 - 1)
    except ValueError:
        return None


class Resolver:
    def __init__(self, session: AsyncSession, scope: Engineer) -> None:
        self.session = session
        self.scope = scope
        self._assigned: Assigned | None = None

    async def assigned(self) -> Assigned:
        if self._assigned is None:
            self._assigned = await load_assigned(self.session, self.scope)
        return self._assigned

    # --- one entity kind at a time --------------------------------------------------------

    async def work_orders(self, tickets: Sequence[Ticket], ids: Iterable[str]) -> dict[str, Change]:
        held = await self.assigned()
        by_id = {str(t.id): t for t in tickets}
        out = {}
        for row_id in ids:
            ticket = by_id.get(row_id)
            if ticket is None:
                out[row_id] = Change(Op.DELETE, WORK_ORDER, row_id)
            elif held.holds_work_order(ticket):
                out[row_id] = _put(WORK_ORDER, row_id, work_order_data(ticket))
            else:
                why = departure(ticket, self.scope.engineer_id)
                out[row_id] = Change(Op.REMOVE, WORK_ORDER, row_id, why)
        return out

    async def references(self, entity: str, ids: Sequence[str]) -> dict[str, Change]:
        model = REFERENCES[entity]
        rows = await self.session.scalars(
            select(model).where(model.org_id == self.scope.org_id, model.id.in_(_uuids(ids)))
        )
        found = {str(r.id): r for r in rows}
        held = await self.assigned()
        out = {}
        for row_id in ids:
            row = found.get(row_id)
            if row is None:
                out[row_id] = Change(Op.DELETE, entity, row_id)
            elif held.holds(entity, row.id):
                out[row_id] = _put(entity, row_id, row_data(row))
            else:
                out[row_id] = Change(Op.REMOVE, entity, row_id)
        return out

    async def _child_changes(
        self, entity: str, ids: Sequence[str], records: dict[str, Record]
    ) -> dict[str, Change]:
        held = await self.assigned()
        out = {}
        for row_id in ids:
            record = records.get(row_id)
            if record is None:
                out[row_id] = Change(Op.DELETE, entity, row_id)
            elif record.work_order_id in held.ids:
                out[row_id] = _put(entity, row_id, record.data)
            else:
                out[row_id] = Change(Op.REMOVE, entity, row_id)
        return out

    async def children(self, entity: str, ids: Sequence[str]) -> dict[str, Change]:
        records = await CHILD_BY_NAME[entity].by_ids(self.session, self.scope.org_id, ids)
        return await self._child_changes(entity, ids, records)

    async def catalogue(self, entity: str, ids: Sequence[str]) -> dict[str, Change]:
        records = await CATALOGUE_BY_NAME[entity].by_ids(self.session, self.scope.org_id, ids)
        return {
            row_id: _put(entity, row_id, records[row_id].data)
            if row_id in records
            else Change(Op.DELETE, entity, row_id)
            for row_id in ids
        }

    async def acks(self, ids: Sequence[str]) -> dict[str, Change]:
        seqs = [seq for i in ids if (seq := _seq(i)) is not None]
        rows = await self.session.scalars(
            select(SyncMutation).where(
                SyncMutation.client_id == self.scope.client_id, SyncMutation.seq.in_(seqs)
            )
        )
        return {str(m.seq): Change(Op.ACK, ACK_ENTITY, str(m.seq), m.result) for m in rows}

    # --- a work order's dependents ----------------------------------------------------------

    async def dependents(self, tickets: Sequence[Ticket]) -> dict[uuid.UUID, list[Change]]:
        """For each work order: its customer, site, asset, asset history, field records."""
        out: dict[uuid.UUID, list[Change]] = defaultdict(list)
        if not tickets:
            return out
        refs: dict[str, list[str]] = defaultdict(list)
        for t in tickets:
            for entity, value in (
                ("customer", t.customer_id),
                ("site", t.site_id),
                ("asset", t.asset_id),
            ):
                if value is not None:
                    refs[entity].append(str(value))
        resolved = {e: await self.references(e, ids) for e, ids in refs.items()}
        history = await self._history(tickets)
        for t in tickets:
            for entity, value in (
                ("customer", t.customer_id),
                ("site", t.site_id),
                ("asset", t.asset_id),
            ):
                if value is not None:
                    out[t.id].append(resolved[entity][str(value)])
            out[t.id] += history.get(t.asset_id, []) if t.asset_id else []
        ids = [t.id for t in tickets]
        for child in CHILDREN:
            records = await child.by_work_orders(self.session, self.scope.org_id, ids)
            changes = await self._child_changes(
                child.name, [r.id for r in records], {r.id: r for r in records}
            )
            for record in records:
                assert record.work_order_id is not None
                out[record.work_order_id].append(changes[record.id])
        return out

    async def _history(self, tickets: Sequence[Ticket]) -> dict[uuid.UUID, list[Change]]:
        return await self._asset_history({t.asset_id for t in tickets if t.asset_id is not None})

    async def _asset_history(self, assets: set[uuid.UUID]) -> dict[uuid.UUID, list[Change]]:
        """Each asset's service history (the latest finished work orders on it), resolved:
        ``put`` while the asset is in the scope, ``remove`` once it has left."""
        if not assets or self.scope.history_per_asset == 0:
            return {}
        rows = list(await self.session.scalars(history_query(self.scope, list(assets))))
        changes = await self.work_orders(rows, [str(r.id) for r in rows])
        out: dict[uuid.UUID, list[Change]] = defaultdict(list)
        for row in rows:
            assert row.asset_id is not None
            out[row.asset_id].append(changes[str(row.id)])
        return out

    # --- a page of feed rows ------------------------------------------------------------------

    async def resolve(self, notes: Sequence[tuple[str, str, str]], page: Changes) -> None:
        """Add the changes for ``notes`` ((entity, entity_id, op), in feed order) to ``page``."""
        order: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        expand: set[str] = set()
        for entity, entity_id, op in notes:
            if (entity, entity_id) not in seen:
                seen.add((entity, entity_id))
                order.append((entity, entity_id))
            if op == "scope" and entity == WORK_ORDER:
                expand.add(entity_id)
        wanted: dict[str, list[str]] = defaultdict(list)
        for entity, entity_id in order:
            wanted[entity].append(entity_id)
        tickets = await self._tickets(wanted.get(WORK_ORDER, []))
        found: dict[tuple[str, str], Change] = {}
        for entity, ids in wanted.items():
            for row_id, resolved in (await self._resolve_kind(entity, ids, tickets)).items():
                found[(entity, row_id)] = resolved
        following = await self.dependents([t for t in tickets if str(t.id) in expand])
        # An asset that left the scope (a work order now names another one) takes its
        # service history off the phone with it.
        gone = {
            uuid.UUID(key[1])
            for key, change in found.items()
            if key[0] == "asset" and change.op is Op.REMOVE
        }
        history = await self._asset_history(gone)
        for key in order:
            if (hit := found.get(key)) is not None:
                page.add(hit)
            if key[0] == WORK_ORDER:
                for dependent in following.get(uuid.UUID(key[1]), []):
                    page.add(dependent)
            elif key[0] == "asset" and hit is not None and hit.op is Op.REMOVE:
                for dependent in history.get(uuid.UUID(key[1]), []):
                    page.add(dependent)

    async def _tickets(self, ids: list[str]) -> list[Ticket]:
        if not ids:  # an idle pull, or a page without work orders: no query
            return []
        query = select(Ticket).where(Ticket.org_id == self.scope.org_id, Ticket.id.in_(_uuids(ids)))
        return list(await self.session.scalars(query))

    async def _resolve_kind(
        self, entity: str, ids: list[str], tickets: Sequence[Ticket]
    ) -> dict[str, Change]:
        if entity == WORK_ORDER:
            return await self.work_orders(tickets, ids)
        if entity in REFERENCES:
            return await self.references(entity, ids)
        if entity in CHILD_BY_NAME:
            return await self.children(entity, ids)
        if entity in CATALOGUE_BY_NAME:
            return await self.catalogue(entity, ids)
        if entity == ACK_ENTITY:
            return await self.acks(ids)
        return {}  # an entity this server version does not serve
