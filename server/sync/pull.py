"""Pull: the change feed of one installation's scopes, in pages, behind an opaque cursor.

The cursor must never skip a change that commits late. Feed rows carry their writer's
``txid`` (``pg_current_xact_id()``), which is assigned before commit, so "after the last row
I saw" loses a row whose transaction was still open when a later-numbered one committed. A
pull therefore serves only rows whose transaction is finished: below the snapshot's
watermark, the lowest transaction still in progress (``pg_snapshot_xmin`` of the current
snapshot for a pull that has written nothing, which is every pull in production; a
transaction's own rows are visible to it, so the watermark is taken from the in-progress
list without it, and the cursor never moves past the transaction's own id). Rows are served
in (txid, id) order; a transaction that starts after the pull gets a larger txid than the
watermark, so nothing can appear behind the cursor.

A page, in order:
1. the van's stock balances that changed since the last pull. The stock ledger writes them
   with plain SQL (no ORM, no feed row, nothing added to its hot path); a balance row's
   ``xmin`` is the id of the transaction that last wrote it, so rows written by a
   transaction at or after the last pull's watermark are the changed ones;
2. work orders that left the recent-work window since the last pull (``remove``), and the
   reservation lines of the engineer's work written since (the same row-version look-up:
   server/sync/reservations.py);
3. feed rows (at most ``limit``), each resolved to the entity as it is now
   (server/sync/resolve.py), with acknowledgements of this installation's mutations in the
   same order, so an acknowledgement is never served before its mutation's effects;
4. on the last page (``has_more`` false), the claim pool's changes since the pool the
   cursor says the phone holds (server/sync/claimables.py).

Without a cursor, with a cursor from before the pruned horizon, the pull is a **snapshot**
(``reset: true`` on its first page): the whole scope in stages (work orders, history,
customers, sites, assets, field records, van stock, catalogue), ``limit`` rows a page,
then the feed from the watermark the snapshot started at (changes made while the snapshot
was paged are served again from the feed; a put is idempotent).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server import feed
from server.auth import Actor
from server.config import get_settings
from server.sync import claimables, reservations
from server.sync import cursor as cursors
from server.sync.clients import client_for
from server.sync.entities import (
    CATALOGUES,
    CHILDREN,
    REFERENCES,
    WORK_ORDER,
    jsonable,
    row_data,
    work_order_data,
)
from server.sync.models import SyncHorizon
from server.sync.resolve import Changes, Resolver
from server.sync.scope import FINISHED, Engineer, assigned, assigned_ids, history_query
from server.tickets import Ticket
from shared.sync import Change, Op, PullPage

STOCK_BALANCE = "stock_balance"


@dataclass(frozen=True)
class Watermark:
    visible: int  # feed rows below this txid may be served
    settled: int  # every txid below this is finished and is not this transaction's


_WATERMARK = text(
    """
    SELECT coalesce((SELECT min(x::text::bigint) FROM pg_snapshot_xip(q.s) AS x),
                    pg_snapshot_xmax(q.s)::text::bigint) AS visible,
           pg_current_xact_id_if_assigned()::text::bigint AS own
      FROM (SELECT pg_current_snapshot() AS s) AS q
    """
)


async def watermark(session: AsyncSession) -> Watermark:
    row = (await session.execute(_WATERMARK)).one()
    visible = int(row.visible)
    settled = visible if row.own is None else min(visible, int(row.own))
    return Watermark(visible, settled)


# --- the feed -------------------------------------------------------------------------------

_FEED_PART = """
    (SELECT id, txid, entity, entity_id, op FROM sync_changes
      WHERE org_id = :org AND scope = :scope_{n}
        AND (txid, id) > (:t, :i) AND txid < :below
      ORDER BY txid, id LIMIT :limit)
"""
# One index range per scope, merged: each part walks ix_sync_changes_feed in order.
_FEED = text(
    " UNION ALL ".join(_FEED_PART.format(n=n) for n in range(3)) + " ORDER BY txid, id LIMIT :limit"
)


async def _feed_rows(
    session: AsyncSession, scope: Engineer, state: cursors.Feed, below: int, limit: int
) -> list[Any]:
    params = {
        "org": scope.org_id,
        "scope_0": feed.engineer_scope(scope.engineer_id),
        "scope_1": feed.client_scope(scope.client_id),
        "scope_2": feed.CATALOGUE,
        "t": state.t,
        "i": state.i,
        "below": below,
        "limit": limit,
    }
    return list((await session.execute(_FEED, params)).all())


# --- van stock --------------------------------------------------------------------------------

_VAN = text(
    """
    SELECT b.location_id, b.part_id, b.on_hand, b.reserved, b.needs_reconciliation, b.updated_at
      FROM stock_balances b
      JOIN stock_locations l ON l.id = b.location_id
     WHERE l.org_id = :org AND l.engineer_id = :engineer
       AND (:everything OR age(b.xmin) <= age(CAST(CAST(:since AS text) AS xid)))
       AND (CAST(:after AS uuid) IS NULL OR b.part_id > CAST(:after AS uuid))
     ORDER BY b.part_id
     LIMIT :limit
    """
)
# age() compares 32-bit transaction ids; beyond this distance a full resend is the safe answer.
_XID_HORIZON = 2**30


async def _van(
    session: AsyncSession,
    scope: Engineer,
    *,
    since: int | None,
    now_txid: int,
    after: str | None = None,
    limit: int = 100_000,
) -> list[Change]:
    everything = since is None or now_txid - since > _XID_HORIZON
    params = {
        "org": scope.org_id,
        "engineer": scope.engineer_id,
        "everything": everything,
        "since": str((since or 0) % 2**32),
        "after": after,
        "limit": limit,
    }
    rows = await session.execute(_VAN, params)
    return [
        Change(
            Op.PUT,
            STOCK_BALANCE,
            str(row.part_id),
            {key: jsonable(value) for key, value in row._mapping.items()},
        )
        for row in rows
    ]


# --- the snapshot -----------------------------------------------------------------------------

Fetch = Callable[[AsyncSession, Engineer, str | None, int], Awaitable[list[Change]]]


async def _work_orders(s: AsyncSession, scope: Engineer, after: str | None, n: int) -> list[Change]:
    query = select(Ticket).where(assigned(scope))
    return await _tickets(s, query, after, n)


async def _history(s: AsyncSession, scope: Engineer, after: str | None, n: int) -> list[Change]:
    if scope.history_per_asset == 0:
        return []
    assets = select(Ticket.asset_id).where(assigned(scope), Ticket.asset_id.is_not(None))
    return await _tickets(s, history_query(scope, assets), after, n)


async def _tickets(s: AsyncSession, query: Any, after: str | None, n: int) -> list[Change]:
    if after is not None:
        query = query.where(Ticket.id > uuid.UUID(after))
    rows = await s.scalars(query.order_by(Ticket.id).limit(n))
    return [Change(Op.PUT, WORK_ORDER, str(t.id), work_order_data(t)) for t in rows]


def _reference(entity: str) -> Fetch:
    model = REFERENCES[entity]
    column = getattr(Ticket, f"{entity}_id")

    async def fetch(s: AsyncSession, scope: Engineer, after: str | None, n: int) -> list[Change]:
        query = select(model).where(
            model.org_id == scope.org_id, model.id.in_(select(column).where(assigned(scope)))
        )
        if after is not None:
            query = query.where(model.id > uuid.UUID(after))
        rows = await s.scalars(query.order_by(model.id).limit(n))
        return [Change(Op.PUT, entity, str(r.id), row_data(r)) for r in rows]

    return fetch


def _child(index: int) -> Fetch:
    child = CHILDREN[index]

    async def fetch(s: AsyncSession, scope: Engineer, after: str | None, n: int) -> list[Change]:
        records = await child.by_work_orders(
            s, scope.org_id, assigned_ids(scope), after=after, limit=n
        )
        return [Change(Op.PUT, child.name, r.id, r.data) for r in records]

    return fetch


def _catalogue(index: int) -> Fetch:
    catalogue = CATALOGUES[index]

    async def fetch(s: AsyncSession, scope: Engineer, after: str | None, n: int) -> list[Change]:
        records = await catalogue.page(s, scope.org_id, after=after, limit=n)
        return [Change(Op.PUT, catalogue.name, r.id, r.data) for r in records]

    return fetch


async def _van_stage(s: AsyncSession, scope: Engineer, after: str | None, n: int) -> list[Change]:
    return await _van(s, scope, since=None, now_txid=0, after=after, limit=n)


STAGES: tuple[Fetch, ...] = (
    _work_orders,
    _history,
    *(_reference(e) for e in REFERENCES),
    *(_child(i) for i in range(len(CHILDREN))),
    _van_stage,
    *(_catalogue(i) for i in range(len(CATALOGUES))),
)


async def _snapshot_page(
    session: AsyncSession, scope: Engineer, state: cursors.Snapshot, limit: int
) -> tuple[list[Change], cursors.State]:
    page: list[Change] = []
    stage, key = state.stage, state.key
    while stage < len(STAGES) and len(page) < limit:
        room = limit - len(page)
        rows = await STAGES[stage](session, scope, key, room)
        page += rows
        if len(rows) < room:
            stage, key = stage + 1, None
        else:
            key = rows[-1].id
    if stage >= len(STAGES):
        # Done: the feed from where the snapshot started (txid >= x).
        # The phone replaced its rows with the snapshot: it holds no claim pool (p empty).
        return page, cursors.Feed(t=state.x - 1, i=cursors.MAX_ID, w=state.x, o=state.o)
    return page, cursors.Snapshot(stage=stage, key=key, x=state.x, o=state.o)


# --- one pull ---------------------------------------------------------------------------------


# Built once, as every statement an idle pull runs: building one costs more than running it.
_EXPIRED = select(Ticket.id).where(
    Ticket.org_id == bindparam("org_id"),
    Ticket.assignee_id == bindparam("engineer_id"),
    Ticket.status.in_(FINISHED),
    Ticket.updated_at >= bindparam("since"),
    Ticket.updated_at < bindparam("edge"),
)
_HORIZON = select(SyncHorizon.txid, SyncHorizon.change_id).where(
    SyncHorizon.org_id == bindparam("org_id")
)


async def _expired(
    session: AsyncSession, scope: Engineer, since: dt.datetime
) -> list[tuple[str, str, str]]:
    """Finished work orders that left the recent-work window since the last pull."""
    if since >= scope.since:
        return []
    params = {
        "org_id": scope.org_id,
        "engineer_id": scope.engineer_id,
        "since": since,
        "edge": scope.since,
    }
    rows = await session.scalars(_EXPIRED, params)
    return [(WORK_ORDER, str(ticket_id), "scope") for ticket_id in rows]


async def _feed_page(
    session: AsyncSession,
    actor: Actor,
    scope: Engineer,
    state: cursors.Feed,
    wm: Watermark,
    limit: int,
) -> tuple[list[Change], cursors.Feed, bool]:
    page = Changes()
    for change in await _van(session, scope, since=state.w, now_txid=wm.visible):
        page.add(change)
    previous_edge = dt.datetime.fromtimestamp(state.o, dt.UTC)
    notes = await _expired(session, scope, previous_edge)
    notes += await reservations.changed(session, scope, since=state.w, now_txid=wm.visible)
    rows = await _feed_rows(session, scope, state, wm.visible, limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    notes += [(r.entity, r.entity_id, r.op) for r in rows]
    await Resolver(session, scope).resolve(notes, page)
    t, i = (rows[-1].txid, rows[-1].id) if rows else (state.t, state.i)
    pool = state.p
    if not has_more:
        # Nothing below the settled watermark can appear any more: move up to it, so an
        # idle installation's cursor stays younger than the pruned horizon.
        t, i = max((t, i), (wm.settled - 1, cursors.MAX_ID))
        claims, pool = await claimables.changes(session, actor, state.p)
        for change in claims:
            page.add(change)
    new = cursors.Feed(t=t, i=i, w=wm.settled, o=scope.since.timestamp(), p=pool)
    return page.items, new, has_more


async def _horizon(session: AsyncSession, org_id: uuid.UUID) -> tuple[int, int] | None:
    row = (await session.execute(_HORIZON, {"org_id": org_id})).one_or_none()
    return None if row is None else (row.txid, row.change_id)


async def pull(
    session: AsyncSession,
    actor: Actor,
    *,
    client_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> PullPage:
    client = await client_for(session, actor, client_id)
    assert actor.engineer_id is not None  # client_for admits engineers only
    settings = get_settings()
    now = dt.datetime.now(dt.UTC)
    scope = Engineer(  # from the token, never from the phone
        org_id=actor.org_id,
        engineer_id=actor.engineer_id,
        client_id=client.id,
        since=now - dt.timedelta(days=settings.SYNC_RECENT_DAYS),
        history_per_asset=settings.SYNC_HISTORY_PER_ASSET,
    )
    wm = await watermark(session)
    state = None
    if cursor:
        state = cursors.decode(cursor, secret=settings.SECRET_KEY, client_id=client.id)
    reset = False
    horizon = await _horizon(session, client.org_id)
    if isinstance(state, cursors.Feed) and horizon is not None and (state.t, state.i) < horizon:
        state = None  # deletions it needs were pruned: start over
    if state is None:
        reset = True
        state = cursors.Snapshot(stage=0, key=None, x=wm.settled, o=scope.since.timestamp())
    if isinstance(state, cursors.Snapshot):
        changes, new_state = await _snapshot_page(session, scope, state, limit)
        if isinstance(new_state, cursors.Feed) and horizon and (new_state.t, new_state.i) < horizon:
            # Pruned rows are older than anything the snapshot missed: start after them.
            new_state = cursors.Feed(t=horizon[0], i=horizon[1], w=new_state.w, o=new_state.o)
        has_more = True  # the rest of the snapshot, or the feed since it started
    else:
        changes, new_state, has_more = await _feed_page(session, actor, scope, state, wm, limit)
    encoded = cursors.encode(new_state, secret=settings.SECRET_KEY, client_id=client.id)
    return PullPage(cursor=encoded, has_more=has_more, reset=reset, changes=changes)
