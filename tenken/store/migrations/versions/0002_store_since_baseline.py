"""Store changes since the baseline: job liveness, token expiry, stream tickets

A store made before migrations may already have some of these (Tenken then added missing
nullable columns at start), so each step checks first.

Revision ID: 0002_store_since_baseline
Revises: 0001_baseline
Create Date: 2026-12-04 15:49:37.064513
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_store_since_baseline"
down_revision: str | Sequence[str] | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    if "stream_tickets" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "stream_tickets",
            sa.Column("ticket_hash", sa.String(length=64), nullable=False),
            sa.Column("token_id", sa.Integer(), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("ticket_hash"),
        )
        op.create_index("ix_stream_tickets_expires_at", "stream_tickets", ["expires_at"])
        op.create_index("ix_stream_tickets_token_id", "stream_tickets", ["token_id"])

    if "expires_at" not in _columns("api_tokens"):
        with op.batch_alter_table("api_tokens") as batch_op:
            batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))

    jobs = _columns("jobs")
    with op.batch_alter_table("jobs") as batch_op:
        if "progress_at" not in jobs:
            batch_op.add_column(sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.create_index("ix_jobs_progress_at", ["progress_at"])
        if "redispatches" not in jobs:
            batch_op.add_column(sa.Column("redispatches", sa.Integer(), nullable=False, server_default="0"))
        if "heartbeat_at" not in jobs:
            batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        # Progress is counted from the stored frames now; the old counter would refuse new rows.
        if "frames_done" in jobs:
            batch_op.drop_column("frames_done")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("frames_done", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_index("ix_jobs_progress_at")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("redispatches")
        batch_op.drop_column("progress_at")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("expires_at")
    op.drop_index("ix_stream_tickets_token_id", table_name="stream_tickets")
    op.drop_index("ix_stream_tickets_expires_at", table_name="stream_tickets")
    op.drop_table("stream_tickets")
