"""Archived incidents are found by id; projection snapshots are kept beside the log.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    """Index archive events by incident; add the ``snapshots`` table."""
    # Only archive events enter this index: every other insert pays nothing for it.
    archived = sa.text("event_type = 'incident_archived'")
    op.create_index(
        "ix_events_archived_subject",
        "events",
        ["subject"],
        sqlite_where=archived,
        postgresql_where=archived,
    )
    op.create_table(
        "snapshots",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("compatibility", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    """Drop the snapshots and the archive index."""
    op.drop_table("snapshots")
    op.drop_index("ix_events_archived_subject", "events")
