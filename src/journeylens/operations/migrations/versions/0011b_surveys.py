"""Surveys: definitions, invitations, responses, suppressions and opt-outs (issue 11).

Revision ID: 0011b_surveys
Revises: 0016_programme
Create Date: 2026-12-04 23:56:21.019499
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011b_surveys"
down_revision: str | None = "0016_programme"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )

    op.create_table("survey_opt_outs",
    sa.Column("customer_id", sa.String(length=200), nullable=False),
    sa.Column("source", sa.String(length=100), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_survey_opt_outs"))
    )
    op.create_table("survey_suppressions",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("survey", sa.String(length=64), nullable=False),
    sa.Column("customer_id", sa.String(length=200), nullable=False),
    sa.Column("event_key", sa.String(length=200), nullable=False),
    sa.Column("touchpoint", sa.String(length=200), nullable=False),
    sa.Column("channel", sa.String(length=100), nullable=False),
    sa.Column("reason", sa.String(length=32), nullable=False),
    sa.Column("detail", sa.String(length=500), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_suppressions")),
    sa.UniqueConstraint("survey", "event_key", name="uq_survey_suppressions_survey_event")
    )
    with op.batch_alter_table("survey_suppressions", schema=None) as batch_op:
        batch_op.create_index("ix_survey_suppressions_customer", ["customer_id"], unique=False)

    op.create_table("surveys",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=64), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("title", sa.String(length=300), nullable=False),
    sa.Column("source_yaml", sa.Text(), nullable=False),
    sa.Column("definition", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.CheckConstraint("status IN ('active', 'paused')", name=op.f("ck_surveys_status")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
    sa.UniqueConstraint("name", name=op.f("uq_surveys_name"))
    )
    op.create_table("survey_invitations",
    sa.Column("id", sa.String(length=32), nullable=False),
    sa.Column("survey_id", sa.Integer(), nullable=False),
    sa.Column("survey", sa.String(length=64), nullable=False),
    sa.Column("customer_id", sa.String(length=200), nullable=False),
    sa.Column("event_key", sa.String(length=200), nullable=False),
    sa.Column("event_id", sa.String(length=200), nullable=True),
    sa.Column("event_at", _TS, nullable=True),
    sa.Column("touchpoint", sa.String(length=200), nullable=False),
    sa.Column("channel", sa.String(length=100), nullable=False),
    sa.Column("stage", sa.String(length=100), nullable=False),
    sa.Column("language", sa.String(length=16), nullable=False),
    sa.Column("contact", sa.JSON(), nullable=False),
    sa.Column("deliver", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("send_at", _TS, nullable=False),
    sa.Column("sent_at", _TS, nullable=True),
    sa.Column("opened_at", _TS, nullable=True),
    sa.Column("started_at", _TS, nullable=True),
    sa.Column("answered_at", _TS, nullable=True),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("reminder_at", _TS, nullable=True),
    sa.Column("reminded_at", _TS, nullable=True),
    sa.CheckConstraint("status IN ('scheduled', 'sent', 'opened', 'started', 'completed', 'expired', 'cancelled')", name=op.f("ck_survey_invitations_status")),
    sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_survey_invitations_survey_id_surveys"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
    sa.UniqueConstraint("survey_id", "event_key", name="uq_survey_invitations_survey_event")
    )
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.create_index("ix_survey_invitations_customer", ["customer_id", "created_at"], unique=False)
        batch_op.create_index("ix_survey_invitations_due", ["status", "send_at"], unique=False)

    op.create_table("survey_responses",
    sa.Column("id", sa.String(length=40), nullable=False),
    sa.Column("invitation_id", sa.String(length=32), nullable=True),
    sa.Column("survey_id", sa.Integer(), nullable=False),
    sa.Column("survey", sa.String(length=64), nullable=False),
    sa.Column("customer_id", sa.String(length=200), nullable=True),
    sa.Column("touchpoint", sa.String(length=200), nullable=False),
    sa.Column("channel", sa.String(length=100), nullable=False),
    sa.Column("language", sa.String(length=16), nullable=False),
    sa.Column("answers", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("completed_at", _TS, nullable=True),
    sa.CheckConstraint("status IN ('started', 'completed')", name=op.f("ck_survey_responses_status")),
    sa.ForeignKeyConstraint(["invitation_id"], ["survey_invitations.id"], name=op.f("fk_survey_responses_invitation_id_survey_invitations"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_survey_responses_survey_id_surveys"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses"))
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index("ix_survey_responses_invitation", ["invitation_id"], unique=False)




def downgrade() -> None:
    op.drop_table("app_secrets")

    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_responses_invitation")

    op.drop_table("survey_responses")
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_invitations_due")
        batch_op.drop_index("ix_survey_invitations_customer")

    op.drop_table("survey_invitations")
    op.drop_table("surveys")
    with op.batch_alter_table("survey_suppressions", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_suppressions_customer")

    op.drop_table("survey_suppressions")
    op.drop_table("survey_opt_outs")

