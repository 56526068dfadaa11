"""The CX programme: maturity answers and assessments, journey definitions seen, report schedules.

Revision ID: 0016_programme
Revises: 0011a_outbox
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_programme"
down_revision: str | None = "0011a_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "maturity_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(254), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("dimension_id", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("answered_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_maturity_answers"),
        sa.UniqueConstraint("respondent", "question_id", name="uq_maturity_answers_respondent_question"),
        sa.CheckConstraint("value BETWEEN 1 AND 5", name="ck_maturity_answers_value"),
    )
    op.create_table(
        "maturity_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(50), nullable=False),
        sa.Column("overall_level", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_maturity_assessments"),
    )
    op.create_index("ix_maturity_assessments_created_at", "maturity_assessments", ["created_at"])
    op.create_table(
        "journey_definition_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("first_seen_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journey_definition_versions"),
        sa.UniqueConstraint("fingerprint", name="uq_journey_definition_versions_fingerprint"),
    )
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("recipients", sa.String(2000), nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_sent_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_report_schedules"),
        sa.CheckConstraint("cadence IN ('weekly', 'monthly')", name="ck_report_schedules_cadence"),
        sa.CheckConstraint("format IN ('pdf', 'html')", name="ck_report_schedules_format"),
    )


def downgrade() -> None:
    op.drop_table("report_schedules")
    op.drop_table("journey_definition_versions")
    op.drop_index("ix_maturity_assessments_created_at", table_name="maturity_assessments")
    op.drop_table("maturity_assessments")
    op.drop_table("maturity_answers")
