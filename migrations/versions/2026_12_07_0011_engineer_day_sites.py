"""Where an engineer's day starts and ends on given weekdays (``engineers.day_sites``).

A JSON object by weekday, ``{"sat": {"start": "<service site id>", "end": null}}``: null is
home; a weekday not named uses the engineer's ``start_site_id`` / ``end_site_id``. Existing
engineers get ``{}`` (every day as before).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "engineers",
        sa.Column(
            "day_sites",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("engineers", "day_sites")
