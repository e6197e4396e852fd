"""The customer price of a part when it was used: stock_movements.unit_price.

A consumption's ledger line keeps the part's catalogue price of that moment, as it keeps
its cost (unit_cost), so a service report printed later shows what the customer was
charged, not today's price. Lines of other kinds, and consumptions recorded before this
revision, have none (the report falls back to the catalogue price for those).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stock_movements", sa.Column("unit_price", sa.Numeric(14, 2), nullable=True))


def downgrade() -> None:
    op.drop_column("stock_movements", "unit_price")
