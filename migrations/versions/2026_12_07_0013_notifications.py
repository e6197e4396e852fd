"""Notifications (server/notify/): the delivery log ``notifications``, the organisations'
provider channels ``notification_channels`` and customers' ``notification_preferences``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def _log() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=60), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("recipient_kind", sa.String(length=10), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("lang", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False
        ),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("receipt", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_notifications_org_id_organisations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint(
            "org_id",
            "event_id",
            "template",
            "recipient_kind",
            "recipient_id",
            "channel",
            name="uq_notif_key",
        ),
    )
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'sending', 'deferred')"),
    )
    op.create_index("ix_notifications_org_id_id", "notifications", ["org_id", "id"])
    op.create_index(
        "ix_notifications_rate", "notifications", ["org_id", "channel", "address", "sent_at"]
    )


def upgrade() -> None:
    _log()
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=500), nullable=True),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_notification_channels_org_id_organisations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notification_channels"),
        sa.UniqueConstraint("org_id", "kind", name="uq_notification_channels_org_id_kind"),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("channels", postgresql.ARRAY(sa.String(length=10)), nullable=False),
        sa.Column("lang", sa.String(length=10), nullable=True),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("opt_out", sa.Boolean(), nullable=False),
        sa.Column("opt_out_templates", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_notification_preferences_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name="fk_notification_preferences_org_id_organisations",
        ),
        sa.PrimaryKeyConstraint("customer_id", name="pk_notification_preferences"),
    )
    op.create_index("ix_notification_preferences_org_id", "notification_preferences", ["org_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_preferences_org_id", table_name="notification_preferences")
    op.drop_table("notification_preferences")
    op.drop_table("notification_channels")
    op.drop_index("ix_notifications_rate", table_name="notifications")
    op.drop_index("ix_notifications_org_id_id", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
