"""refresh_tokens.superseded_at: a token issued for a rotation whose answer was lost.

When a phone retries a refresh whose answer never arrived, the token that rotation issued
is replaced by a new one and marked superseded. Presenting a superseded token is reuse
(the whole login is revoked), and it never qualifies for the retry grace itself.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "refresh_tokens", sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("refresh_tokens", "superseded_at")
