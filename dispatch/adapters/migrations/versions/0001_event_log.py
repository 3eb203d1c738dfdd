"""The append-only event log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the ``events`` table: one row per committed event, seq strictly increasing."""
    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("plate", sa.SmallInteger(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    # Only events that carry a key are indexed: most events have none.
    keyed = sa.text("idempotency_key IS NOT NULL")
    op.create_index(
        "ux_events_idempotency_key",
        "events",
        ["idempotency_key"],
        unique=True,
        sqlite_where=keyed,
        postgresql_where=keyed,
    )


def downgrade() -> None:
    """Drop the event log."""
    op.drop_index("ux_events_idempotency_key", "events")
    op.drop_table("events")
