"""attachments: content-addressed blobs, resumable uploads, signatures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def _fk(column: str, table: str, source: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_{source}_{column}_{table}")
    )


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("upload_length", sa.BigInteger(), nullable=False),
        sa.Column("upload_offset", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("meta", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _fk("org_id", "organisations", "uploads"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    op.create_index(
        "ix_uploads_open_expires",
        "uploads",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )

    op.create_table(
        "blobs",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True),
        sa.Column("customer_sha256", sa.String(length=64), nullable=True),
        sa.Column("derived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("derive_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _fk("org_id", "organisations", "blobs"),
        sa.PrimaryKeyConstraint("org_id", "sha256", name=op.f("pk_blobs")),
    )
    op.create_index(
        "ix_blobs_underived",
        "blobs",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("derived_at IS NULL"),
    )

    op.create_table(
        "attachments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("work_order_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rejected_reason", sa.String(length=500), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("declared_mime", sa.String(length=100), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=True),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gps", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("uploaded_by", sa.String(length=300), nullable=False),
        sa.Column("engineer_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        _fk("engineer_id", "engineers", "attachments"),
        _fk("org_id", "organisations", "attachments"),
        _fk("work_order_id", "tickets", "attachments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(
        "ix_attachments_org_work_order",
        "attachments",
        ["org_id", "work_order_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attachments_org_pending_sha256",
        "attachments",
        ["org_id", "sha256"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "signatures",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("work_order_id", sa.UUID(), nullable=False),
        sa.Column("attachment_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID(), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("strokes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("signed_status", sa.String(length=20), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _fk("attachment_id", "attachments", "signatures"),
        _fk("org_id", "organisations", "signatures"),
        _fk("work_order_id", "tickets", "signatures"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
        sa.UniqueConstraint("attachment_id", name=op.f("uq_signatures_attachment_id")),
    )
    op.create_index(
        "ix_signatures_org_work_order",
        "signatures",
        ["org_id", "work_order_id", "created_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("signatures")
    op.drop_table("attachments")
    op.drop_table("blobs")
    op.drop_table("uploads")
