"""Installations: a phone registers once with an id it chose; the id is bound to the
engineer who registered it. Only that engineer pushes and pulls with it; anyone else's
client id answers 404 (it is not theirs), and registering another user's id is 409."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Actor
from server.errors import Conflict, Forbidden, NotFound
from server.sync.models import SyncClient


def require_engineer(actor: Actor) -> uuid.UUID:
    """Sync is for field engineers' phones; the scope comes from the engineer's token."""
    if not actor.is_engineer or actor.engineer_id is None or actor.user_id is None:
        raise Forbidden("sync is for field engineers' phones; sign in as an engineer")
    return actor.engineer_id


async def register(
    session: AsyncSession, actor: Actor, *, client_id: uuid.UUID, device: str
) -> tuple[SyncClient, bool]:
    """The installation's row, created on first registration; returns (row, created)."""
    engineer_id = require_engineer(actor)
    inserted = await session.scalar(
        insert(SyncClient)
        .values(
            id=client_id,
            org_id=actor.org_id,
            user_id=actor.user_id,
            engineer_id=engineer_id,
            device=device,
            last_seq=0,
        )
        .on_conflict_do_nothing(index_elements=[SyncClient.id])
        .returning(SyncClient.id)
    )
    client = await session.scalar(
        select(SyncClient)
        .where(SyncClient.id == client_id)
        .execution_options(populate_existing=True)
    )
    assert client is not None
    if client.user_id != actor.user_id or client.org_id != actor.org_id:
        raise Conflict(
            "this client id is registered to another installation; generate a new one",
            field="client_id",
        )
    if inserted is None and client.device != device:
        client.device = device
    return client, inserted is not None


# Every pull and push reads the installation: built once (building a statement costs more
# CPU than running it).
_CLIENT = select(SyncClient).where(
    SyncClient.id == bindparam("client_id"),
    SyncClient.org_id == bindparam("org_id"),
    SyncClient.user_id == bindparam("user_id"),
)
_CLIENT_LOCKED = _CLIENT.with_for_update().execution_options(populate_existing=True)


async def client_for(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, *, for_update: bool = False
) -> SyncClient:
    """The caller's own installation (locked for a push), or 404."""
    require_engineer(actor)
    params = {"client_id": client_id, "org_id": actor.org_id, "user_id": actor.user_id}
    client = await session.scalar(_CLIENT_LOCKED if for_update else _CLIENT, params)
    if client is None:
        raise NotFound(f"sync client {client_id} not found; register it first")
    return client
