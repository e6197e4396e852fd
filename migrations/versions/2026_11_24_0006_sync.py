"""sync protocol: clients, mutation log, change feed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
JSONB = postgresql.JSONB(astext_type=sa.Text())


def _fk(column: str, table: str, source: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_{source}_{column}_{table}")
    )


def upgrade() -> None:
    op.create_table(
        "sync_clients",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("engineer_id", sa.UUID(), nullable=False),
        sa.Column("device", sa.String(length=200), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("last_push_at", sa.DateTime(timezone=True), nullable=True),
        _fk("org_id", "organisations", "sync_clients"),
        _fk("user_id", "users", "sync_clients"),
        _fk("engineer_id", "engineers", "sync_clients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_clients")),
    )
    op.create_index("ix_sync_clients_org_user", "sync_clients", ["org_id", "user_id"])

    op.create_table(
        "sync_mutations",
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("mutation_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("args", JSONB, nullable=False),
        sa.Column("work_order_id", sa.UUID(), nullable=True),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("result", JSONB, nullable=False),
        _fk("client_id", "sync_clients", "sync_mutations"),
        _fk("org_id", "organisations", "sync_mutations"),
        sa.PrimaryKeyConstraint("client_id", "seq", name=op.f("pk_sync_mutations")),
    )
    op.create_index(
        "ix_sync_mutations_org_rejected",
        "sync_mutations",
        ["org_id", "received_at"],
        postgresql_where=sa.text("outcome = 'rejected'"),
    )
    op.create_index(
        "ix_sync_mutations_org_work_order", "sync_mutations", ["org_id", "work_order_id"]
    )

    op.create_table(
        "sync_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text)::bigint"),
            nullable=False,
        ),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("scope", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _fk("org_id", "organisations", "sync_changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_changes")),
    )
    op.create_index("ix_sync_changes_feed", "sync_changes", ["org_id", "scope", "txid", "id"])
    op.create_index("ix_sync_changes_created", "sync_changes", ["created_at"])

    op.create_table(
        "sync_horizons",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _fk("org_id", "organisations", "sync_horizons"),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_sync_horizons")),
    )

    op.create_table(
        "sync_flags",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("work_order_id", sa.UUID(), nullable=False),
        sa.Column("engineer_id", sa.UUID(), nullable=True),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=300), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("org_id", "organisations", "sync_flags"),
        _fk("work_order_id", "tickets", "sync_flags"),
        _fk("engineer_id", "engineers", "sync_flags"),
        _fk("client_id", "sync_clients", "sync_flags"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_flags")),
    )
    op.create_index(
        "ix_sync_flags_org_status_created", "sync_flags", ["org_id", "status", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("sync_flags")
    op.drop_table("sync_horizons")
    op.drop_table("sync_changes")
    op.drop_table("sync_mutations")
    op.drop_table("sync_clients")
