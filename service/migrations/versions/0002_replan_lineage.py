"""Re-plans: a job may re-plan a previous plan from the field's progress; plans keep lineage.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the re-plan's inputs to jobs and its lineage to plans (all nullable: plans of old)."""
    op.add_column("jobs", sa.Column("previous_plan_id", sa.String(40), nullable=True))
    op.add_column("jobs", sa.Column("today", sa.Date, nullable=True))
    op.add_column("jobs", sa.Column("freeze_days", sa.Integer, nullable=True))
    op.add_column("plans", sa.Column("previous_plan_id", sa.String(40), nullable=True))
    op.add_column("plans", sa.Column("as_of", sa.Date, nullable=True))
    op.create_index("ix_plans_previous_plan_id", "plans", ["previous_plan_id"])


def downgrade() -> None:
    """Drop the re-plan columns."""
    op.drop_index("ix_plans_previous_plan_id", "plans")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("as_of")
        batch.drop_column("previous_plan_id")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("freeze_days")
        batch.drop_column("today")
        batch.drop_column("previous_plan_id")
