"""Reviews of findings and repair status

Revision ID: 0005_reviews_repairs
Revises: 0004_drone_tracks
Create Date: 2026-12-04 15:59:41.293897
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_reviews_repairs"
down_revision: str | Sequence[str] | None = "0004_drone_tracks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "defect_repair_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("defect_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["defect_id"], ["defects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("defect_repair_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_defect_repair_events_defect_id"), ["defect_id"], unique=False)

    op.create_table(
        "defect_repairs",
        sa.Column("defect_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("found_again_as", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["defect_id"], ["defects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["found_again_as"], ["defects.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("defect_id"),
    )
    with op.batch_alter_table("defect_repairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_defect_repairs_status"), ["status"], unique=False)

    op.create_table(
        "defect_reviews",
        sa.Column("defect_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("class_name", sa.String(length=32), nullable=False),
        sa.Column("detected_class", sa.String(length=32), nullable=False),
        sa.Column("frame_index", sa.Integer(), nullable=True),
        sa.Column("box_xyxy", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["defect_id"], ["defects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("defect_id"),
    )
    with op.batch_alter_table("defect_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_defect_reviews_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_defect_reviews_verdict"), ["verdict"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("defect_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defect_reviews_verdict"))
        batch_op.drop_index(batch_op.f("ix_defect_reviews_job_id"))

    op.drop_table("defect_reviews")
    with op.batch_alter_table("defect_repairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defect_repairs_status"))

    op.drop_table("defect_repairs")
    with op.batch_alter_table("defect_repair_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defect_repair_events_defect_id"))

    op.drop_table("defect_repair_events")
