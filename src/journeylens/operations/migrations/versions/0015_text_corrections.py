"""Sentiment label corrections made by people (issue 15).

Revision ID: 0015_text_corrections
Revises: 0009_sessions
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_text_corrections"
down_revision: str | None = "0009_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "text_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.String(200), nullable=False),
        sa.Column("aspect", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("previous_label", sa.String(16), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("corrected_by", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_text_corrections"),
    )
    op.create_index("ix_text_corrections_response_id", "text_corrections", ["response_id"])


def downgrade() -> None:
    op.drop_index("ix_text_corrections_response_id", table_name="text_corrections")
    op.drop_table("text_corrections")
