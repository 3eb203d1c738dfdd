"""Archived incidents and calls are found by id; projection snapshots are kept beside the log.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

#: (index, event type): an archived incident by its id, a call's receipt by the call's id.
_LOOKUPS = (
    ("ix_events_archived_incident", "incident_archived"),
    ("ix_events_received_call", "call_received"),
)


def upgrade() -> None:
    """Index archive events by incident and calls by id; add the ``snapshots`` table."""
    # Only these two types enter these indexes: every other insert pays nothing for them.
    for name, event_type in _LOOKUPS:
        only = sa.text(f"event_type = '{event_type}'")
        op.create_index(name, "events", ["subject"], sqlite_where=only, postgresql_where=only)
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
    for name, _ in _LOOKUPS:
        op.drop_index(name, "events")
