"""Change capture: a change of a synced row leaves a row in ``sync_changes``, in the same
transaction (so the feed can never announce what did not commit, nor miss what did).

ORM writes are captured by a session ``after_flush`` hook (and ``insert(Model)`` statements
run through the session, by a ``do_orm_execute`` hook): each registered model class has
a capturer that says which feed rows a new, changed or deleted instance makes. A feed row
names a scope directly (``engineer:<id>``, ``catalogue``) or through a row the scope
follows from, resolved in SQL in the same statement (server/feed.py, the feed's row format
and these routes' SQL):

    via        scope(s)
    scope      the scope named
    ticket     engineer:<assignee> of that work order
    visit      engineer:<assignee> of the visit's work order
    customer   engineer:<assignee> of every work order in scope that references it
    site       (same)
    asset      (same)

Statements that bypass the ORM are not seen here. The known ones: the stock ledger's
balance writes and its lines (van stock and a work order's reservation lines are read at
pull time from row versions instead, so nothing is added to the ledger's hot path;
server/sync/pull.py, server/sync/reservations.py), the SLA policy clean-up's bulk
``UPDATE tickets SET sla_policy_id`` (a column the phone does not get), and the hand-written
fast paths (server/fastpaths.py lists them), which write the feed rows this module would in
their own statements, built with server/feed.py (new labour entries, notes and answers:
server/field/access.py ``NewRecord``; check-ins and check-outs: server/field/visits/service.py;
accept, start travel and arrive: server/tickets/service.py ``LIGHT_ACTIONS``; a pushed
mutation's acknowledgement: server/sync/push.py; each fast path's twin test compares it
with its ORM path), and a new work order (server/tickets/creation.py: it has no assignee,
so there is no feed row to write; tests/server/tickets/test_creation.py checks the ORM path
writes none either). Other code that writes a synced row with Core must call
:func:`record`.

Rows written inside a savepoint vanish with it: a rejected mutation leaves no feed row.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal, get_args

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql import ClauseElement

from server import feed
from server.config import get_settings

log = logging.getLogger("fixflow.sync")
Via = Literal["scope", "ticket", "visit", "customer", "site", "asset"]
Change = Literal["new", "dirty", "deleted"]


@dataclass(frozen=True)
class Note:
    """One feed row to write: ``entity``/``entity_id`` changed (``op``) for the scopes
    ``via``/``key`` lead to."""

    org_id: uuid.UUID
    entity: str
    entity_id: str
    op: str  # put | delete | scope (membership may have changed: send its dependents) | ack
    via: Via
    key: str  # the scope when via is "scope", else the id of the row the scopes follow from


Capturer = Callable[[Any, Change], list[Note]]
_capturers: dict[type, Capturer] = {}


def register(model: type, capturer: Capturer) -> None:
    _capturers[model] = capturer


def changed(obj: Any) -> set[str]:
    """The attributes this flush changes (valid inside ``after_flush``)."""
    state = inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def previous(obj: Any, key: str) -> Any:
    """The attribute's value before this flush (None when it was not loaded)."""
    deleted = inspect(obj).attrs[key].history.deleted
    return deleted[0] if deleted else None


# --- writing ------------------------------------------------------------------------------

# One statement per route for any number of notes (server/feed.py: the routes' SQL).
assert set(get_args(Via)) == set(feed.VIAS), "every route has its statement"
_SQL: dict[str, Any] = {via: text(feed.from_notes(via)) for via in feed.VIAS}
_RECENT = frozenset(feed.REFERENCE_COLUMN)


def statements(notes: Iterable[Note]) -> list[tuple[Any, dict[str, Any]]]:
    """One INSERT ... SELECT per route, for any number of notes."""
    grouped: dict[Via, list[Note]] = defaultdict(list)
    for note in notes:
        grouped[note.via].append(note)
    out = []
    for via, group in grouped.items():
        params: dict[str, Any] = {
            "orgs": [n.org_id for n in group],
            "keys": [n.key for n in group],
            "entities": [n.entity for n in group],
            "ids": [n.entity_id for n in group],
            "ops": [n.op for n in group],
        }
        if via in _RECENT:
            params["recent_days"] = get_settings().SYNC_RECENT_DAYS
        out.append((_SQL[via], params))
    return out


async def record(session: AsyncSession, notes: Iterable[Note]) -> None:
    """Write feed rows explicitly (for changes the ORM does not see, and acknowledgements)."""
    for statement, params in statements(notes):
        await session.execute(statement, params)


def _write(connection: Connection, notes: list[Note]) -> None:
    for statement, params in statements(notes):
        connection.execute(statement, params)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    if not _capturers:
        return
    notes: list[Note] = []
    for change, objects in (
        ("new", session.new),
        ("dirty", session.dirty),
        ("deleted", session.deleted),
    ):
        for obj in objects:
            capturer = _capturers.get(type(obj))
            if capturer is not None:
                notes += capturer(obj, change)  # type: ignore[arg-type]
    if notes:
        _write(session.connection(), notes)


def _inserted_rows(state: ORMExecuteState) -> list[SimpleNamespace]:
    """The rows an ``insert(Model).values(...)`` statement writes, as attribute bags."""
    statement = state.statement
    assert isinstance(statement, ClauseElement)
    base = dict(statement.compile(dialect=state.session.get_bind().dialect).params)
    given = state.parameters
    if isinstance(given, Mapping):
        return [SimpleNamespace(**{**base, **given})]
    if given:
        return [SimpleNamespace(**{**base, **row}) for row in given]
    return [SimpleNamespace(**base)]


def _orm_insert(state: ORMExecuteState) -> None:
    """``session.execute(insert(Model)...)`` (e.g. insert ... on conflict do nothing, the
    idiom for client-chosen ids) bypasses the flush: its rows are captured here. A row
    that turns out to exist already only makes a spurious feed row, which the pull
    resolves to the row as it is."""
    if not state.is_insert or state.bind_mapper is None:
        return
    capturer = _capturers.get(state.bind_mapper.class_)
    if capturer is None:
        return
    notes: list[Note] = []
    for row in _inserted_rows(state):
        try:
            notes += capturer(row, "new")
        except AttributeError:  # a column the statement leaves to its default
            log.warning("sync capture: insert of %s without the columns it needs", row)
    if notes:
        _write(state.session.connection(), notes)


def install() -> None:
    """Listen on every session (the API's, the worker's, scripts'); idempotent."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
    if not event.contains(Session, "do_orm_execute", _orm_insert):
        event.listen(Session, "do_orm_execute", _orm_insert)
