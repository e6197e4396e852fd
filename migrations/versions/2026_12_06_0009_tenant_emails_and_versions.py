"""E-mail addresses unique per organisation; version columns for optimistic concurrency.

- ``users``: an address was unique across all organisations, so creating a user whose
  address another tenant used answered 409 and told one tenant about another's accounts.
  It is now unique per organisation (``uq_users_org_id_email``); the same person may hold
  accounts in several organisations. Log-in looks the address up across organisations
  (``ix_users_email``) and asks which organisation when the password opens several.
- ``version`` on ``organisations``, ``users``, ``business_calendars``, ``sla_policies`` and
  ``stock_levels``: every PATCH and PUT needs ``If-Match`` with the version read (412 when
  stale), as on the other editable objects. Existing rows start at version 1.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED = ("organisations", "users", "business_calendars", "sla_policies", "stock_levels")


def upgrade() -> None:
    op.drop_constraint(op.f("uq_users_email"), "users", type_="unique")
    op.create_unique_constraint(op.f("uq_users_org_id_email"), "users", ["org_id", "email"])
    op.create_index(op.f("ix_users_email"), "users", ["email"], unique=False)
    for table in VERSIONED:
        op.add_column(
            table,
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        )


def downgrade() -> None:
    for table in VERSIONED:
        op.drop_column(table, "version")
    op.drop_index(op.f("ix_users_email"), table_name="users")
    op.drop_constraint(op.f("uq_users_org_id_email"), "users", type_="unique")
    # Fails while an address has accounts in two organisations: merge or rename them first.
    op.create_unique_constraint(op.f("uq_users_email"), "users", ["email"])
