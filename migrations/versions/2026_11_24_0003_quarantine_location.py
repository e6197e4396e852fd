"""One quarantine stock location per organisation (defective returns).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_stock_locations_org_quarantine",
        "stock_locations",
        ["org_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'quarantine'"),
    )


def downgrade() -> None:
    op.drop_index("uq_stock_locations_org_quarantine", table_name="stock_locations")
