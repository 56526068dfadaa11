"""Business calendars per team and the calendar each ticket's SLA was counted with (issue 12).

Revision ID: 0012b_business_hours
Revises: 0015_text_corrections
Create Date: 2026-12-05 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012b_business_hours"
down_revision: str | None = "0015_text_corrections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("teams", sa.Column("business_hours", sa.JSON(), nullable=True))
    op.add_column("tickets", sa.Column("calendar", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("calendar")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("business_hours")
