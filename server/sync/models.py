"""The sync protocol's tables: installations, their mutation log, the change feed, flags.

- ``sync_clients``: one row per phone installation (the id is the phone's), bound to the
  engineer's user. ``last_seq`` is the last mutation applied or rejected; a push locks the
  row (``SELECT ... FOR UPDATE``), so two pushes of one installation run one after the other.
- ``sync_mutations``: every mutation received, with its outcome and result, written in the
  transaction that applied it. Duplicates are answered from here; rejected mutations stay
  here for the back office (nothing the engineer did disappears).
- ``sync_changes``: the change feed. A row says "this entity changed for this scope", written
  in the transaction that changed it, with that transaction's id (``txid``); the pull serves
  rows below the snapshot's watermark in (txid, id) order and sends each entity as it is
  *now* (server/sync/pull.py explains why that is what makes the order safe).
- ``sync_horizons``: per organisation, the last feed position pruned away; an older cursor
  gets a full snapshot (``reset``) instead of silently missing deletions.
- ``sync_flags``: collisions a dispatcher must look at (a job completed on the phone after
  the office cancelled it; field evidence that arrived after the office reassigned it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin


class FlagKind(StrEnum):
    COMPLETED_AFTER_CANCEL = "completed_after_cancel"
    EVIDENCE_AFTER_REASSIGNMENT = "evidence_after_reassignment"


class FlagStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class SyncClient(Base):
    __tablename__ = "sync_clients"
    __table_args__ = (Index("ix_sync_clients_org_user", "org_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # chosen by the phone
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    engineer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("engineers.id"))
    device: Mapped[str] = mapped_column(String(200))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    last_push_at: Mapped[dt.datetime | None]


class SyncMutation(Base):
    """One received mutation and what became of it (``result`` is shared.sync.Result)."""

    __tablename__ = "sync_mutations"
    __table_args__ = (
        Index(
            "ix_sync_mutations_org_rejected",
            "org_id",
            "received_at",
            postgresql_where=text("outcome = 'rejected'"),
        ),
        Index("ix_sync_mutations_org_work_order", "org_id", "work_order_id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sync_clients.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    mutation_id: Mapped[uuid.UUID]  # the phone's id for the mutation
    name: Mapped[str] = mapped_column(String(60))
    args: Mapped[dict[str, Any]] = mapped_column(JSONB)
    work_order_id: Mapped[uuid.UUID | None]  # from args, for review by work order
    # Business data, never used to order anything; None when the phone's did not check
    # (the mutation is then rejected, and its problem quotes what was sent).
    device_time: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    outcome: Mapped[str] = mapped_column(String(10))
    result: Mapped[dict[str, Any]] = mapped_column(JSONB)


class SyncChange(Base):
    """One change-feed row. ``txid`` is the writing transaction's ``pg_current_xact_id()``."""

    __tablename__ = "sync_changes"
    __table_args__ = (
        Index("ix_sync_changes_feed", "org_id", "scope", "txid", "id"),
        Index("ix_sync_changes_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint")
    )
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    # "engineer:<id>", "client:<id>" (acknowledgements) or "catalogue" (the organisation's).
    scope: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    op: Mapped[str] = mapped_column(String(10))  # put | delete | scope | ack
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class SyncHorizon(Base):
    """The last feed position pruned for an organisation: cursors at or before it reset."""

    __tablename__ = "sync_horizons"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger)
    change_id: Mapped[int] = mapped_column(BigInteger)
    pruned_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class SyncFlag(IdMixin, Base):
    """A field/office collision for a dispatcher: what happened, with the engineer's data."""

    __tablename__ = "sync_flags"
    __table_args__ = (Index("ix_sync_flags_org_status_created", "org_id", "status", "created_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    work_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    engineer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("engineers.id"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sync_clients.id"))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default=FlagStatus.OPEN.value)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
