"""Escalation and follow-up tasks: ``escalation_policies`` (steps per organisation and
priority), ``ticket_escalations`` (the steps a work order reached), ``followup_tasks``
(complaint call-backs, detractors) (server/escalation/).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "escalation_policies",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("steps", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_escalation_policies_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("org_id", "priority", name=op.f("pk_escalation_policies")),
    )
    _escalations()
    _followups()


def _escalations() -> None:
    op.create_table(
        "ticket_escalations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_ticket_escalations_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            ondelete="CASCADE",
            name=op.f("fk_ticket_escalations_ticket_id_tickets"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_ticket_escalations_owner_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["users.id"],
            name=op.f("fk_ticket_escalations_acknowledged_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_escalations")),
        sa.UniqueConstraint(
            "ticket_id", "level", name=op.f("uq_ticket_escalations_ticket_id_level")
        ),
    )
    op.create_index(
        "ix_ticket_escalations_org_owner",
        "ticket_escalations",
        ["org_id", "owner_user_id", "due_at"],
    )
    op.create_index(
        "ix_ticket_escalations_next_check",
        "ticket_escalations",
        ["next_check_at"],
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
    )


def _followups() -> None:
    op.create_table(
        "followup_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("assignee_user_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("source_key", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=300), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_followup_tasks_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            ondelete="CASCADE",
            name=op.f("fk_followup_tasks_ticket_id_tickets"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["users.id"],
            name=op.f("fk_followup_tasks_assignee_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_tasks")),
        sa.UniqueConstraint(
            "org_id", "source_key", name=op.f("uq_followup_tasks_org_id_source_key")
        ),
    )
    op.create_index(
        "ix_followup_tasks_org_status_due",
        "followup_tasks",
        ["org_id", "status", "due_at", "id"],
    )
    op.create_index(
        "ix_followup_tasks_org_assignee",
        "followup_tasks",
        ["org_id", "assignee_user_id", "status"],
    )
    op.create_index("ix_followup_tasks_ticket", "followup_tasks", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("followup_tasks")
    op.drop_table("ticket_escalations")
    op.drop_table("escalation_policies")
