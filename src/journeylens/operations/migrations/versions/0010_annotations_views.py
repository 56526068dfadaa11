"""Annotations (release markers on time charts) and saved views.

Revision ID: 0010_annotations_views
Revises: 0011b_surveys
Create Date: 2026-12-05 00:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_annotations_views"
down_revision: str | None = "0011b_surveys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("touchpoint", sa.String(200), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("origin_key", sa.String(300), nullable=True),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_annotations"),
        sa.UniqueConstraint("origin_key", name="uq_annotations_origin_key"),
        sa.CheckConstraint("kind IN ('release', 'campaign', 'incident', 'note')", name="ck_annotations_kind"),
        sa.CheckConstraint("source IN ('manual', 'api', 'event')", name="ck_annotations_source"),
    )
    op.create_index("ix_annotations_at", "annotations", ["at"])
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("page", sa.String(100), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
        sa.UniqueConstraint("name", name="uq_saved_views_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
    op.drop_index("ix_annotations_at", table_name="annotations")
    op.drop_table("annotations")
