"""Alert rules, alerts, hot tickets, their audit trail, states as data, teams and root causes.

Revision ID: 0012_alerts_tickets
Revises: 0010_annotations_views
Create Date: 2026-12-04 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_alerts_tickets"
down_revision: str | None = "0010_annotations_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)

#: (name, position, is_open, clock_runs, next states): the SLA clock stops while pending.
STATES = [
    ("new", 1, True, True, "open,pending,resolved,closed"),
    ("open", 2, True, True, "pending,resolved,closed"),
    ("pending", 3, True, False, "open,resolved,closed"),
    ("resolved", 4, False, False, "closed,reopened"),
    ("closed", 5, False, False, "reopened"),
    ("reopened", 6, True, True, "open,pending,resolved,closed"),
]
ROOT_CAUSES = [
    ("process", "Process or policy failed the customer"),
    ("product", "Product or service defect"),
    ("people", "Staff knowledge or behaviour"),
    ("technology", "App, website or system problem"),
    ("communication", "Unclear or missing communication"),
    ("expectation", "Expectation mismatch (worked as designed)"),
    ("third_party", "Partner or third party"),
    ("other", "Other"),
]


def upgrade() -> None:
    op.create_table('alert_batches',
    sa.Column('table_name', sa.String(length=32), nullable=False),
    sa.Column('batch', sa.String(length=100), nullable=False),
    sa.Column('processed_at', _TS, nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('table_name', 'batch', name=('pk_alert_batches'))
    )
    op.create_table('alert_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('source_yaml', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.Column('last_run_at', _TS, nullable=True),
    sa.Column('last_fired_at', _TS, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', _TS, nullable=True),
    sa.PrimaryKeyConstraint('id', name=('pk_alert_rules')),
    sa.UniqueConstraint('name', name=('uq_alert_rules_name'))
    )
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('lead_email', sa.String(length=254), nullable=True),
    sa.Column('round_robin_position', sa.Integer(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=('pk_teams')),
    sa.UniqueConstraint('name', name=('uq_teams_name'))
    )
    op.create_table('ticket_root_causes',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=('pk_ticket_root_causes'))
    )
    op.create_table('ticket_states',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('clock_runs', sa.Boolean(), nullable=False),
    sa.Column('next_states', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=('pk_ticket_states'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('rule_name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=400), nullable=False),
    sa.Column('fired_at', _TS, nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('closed_at', _TS, nullable=True),
    sa.Column('open_key', sa.String(length=420), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=('fk_alerts_rule_id_alert_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=('pk_alerts')),
    sa.UniqueConstraint('open_key', name=('uq_alerts_open_key'))
    )
    op.create_index('ix_alerts_rule_id_fired_at', 'alerts', ['rule_id', 'fired_at'], unique=False)
    op.create_table('team_members',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=('fk_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=('fk_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=('pk_team_members'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_name', sa.String(length=100), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('response_key', sa.String(length=200), nullable=False),
    sa.Column('response_id', sa.String(length=200), nullable=True),
    sa.Column('customer_id', sa.String(length=200), nullable=True),
    sa.Column('touchpoint', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=254), nullable=True),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('responded_at', _TS, nullable=True),
    sa.Column('first_contact_hours', sa.Double(), nullable=True),
    sa.Column('close_hours', sa.Double(), nullable=True),
    sa.Column('business_hours', sa.Boolean(), nullable=False),
    sa.Column('first_contact_due', _TS, nullable=True),
    sa.Column('due_at', _TS, nullable=True),
    sa.Column('paused_at', _TS, nullable=True),
    sa.Column('first_contact_at', _TS, nullable=True),
    sa.Column('resolved_at', _TS, nullable=True),
    sa.Column('closed_at', _TS, nullable=True),
    sa.Column('root_cause', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('follow_up', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=('fk_tickets_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=('fk_tickets_rule_id_alert_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['status'], ['ticket_states.name'], name=('fk_tickets_status_ticket_states')),
    sa.PrimaryKeyConstraint('id', name=('pk_tickets')),
    sa.UniqueConstraint('rule_id', 'response_key', name='uq_tickets_rule_id_response_key')
    )
    op.create_index('ix_tickets_customer_id', 'tickets', ['customer_id'], unique=False)
    op.create_index('ix_tickets_status_due_at', 'tickets', ['status', 'due_at'], unique=False)
    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=('fk_ticket_events_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=('pk_ticket_events'))
    )
    op.create_index('ix_ticket_events_ticket_id_at', 'ticket_events', ['ticket_id', 'at'], unique=False)

    states = sa.table("ticket_states", sa.column("name", sa.String), sa.column("position", sa.Integer),
                      sa.column("is_open", sa.Boolean), sa.column("clock_runs", sa.Boolean),
                      sa.column("next_states", sa.String))
    op.bulk_insert(states, [dict(zip(("name", "position", "is_open", "clock_runs", "next_states"), row, strict=True))
                            for row in STATES])
    causes = sa.table("ticket_root_causes", sa.column("code", sa.String), sa.column("label", sa.String),
                      sa.column("active", sa.Boolean))
    op.bulk_insert(causes, [{"code": code, "label": label, "active": True} for code, label in ROOT_CAUSES])


def downgrade() -> None:
    op.drop_index("ix_ticket_events_ticket_id_at", table_name="ticket_events")
    op.drop_table("ticket_events")
    op.drop_index("ix_tickets_status_due_at", table_name="tickets")
    op.drop_index("ix_tickets_customer_id", table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("team_members")
    op.drop_index("ix_alerts_rule_id_fired_at", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("ticket_states")
    op.drop_table("ticket_root_causes")
    op.drop_table("teams")
    op.drop_table("alert_rules")
    op.drop_table("alert_batches")
