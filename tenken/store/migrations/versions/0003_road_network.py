"""Road network: routes, survey units, defect locations

Revision ID: 0003_road_network
Revises: 0002_store_since_baseline
Create Date: 2026-12-04 15:28:42.560596
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_road_network"
down_revision: str | Sequence[str] | None = "0002_store_since_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "network_routes",
        sa.Column("route_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("start_m", sa.Float(), nullable=False),
        sa.Column("unit_m", sa.Float(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("route_id"),
    )
    op.create_table(
        "survey_locations",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("located_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("surveyed_at_s", sa.Float(), nullable=False),
        sa.Column("fixes_total", sa.Integer(), nullable=False),
        sa.Column("fixes_on_network", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_table(
        "survey_units",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("route_id", sa.String(length=200), nullable=False),
        sa.Column("unit_index", sa.Integer(), nullable=False),
        sa.Column("from_m", sa.Float(), nullable=False),
        sa.Column("to_m", sa.Float(), nullable=False),
        sa.Column("line", sa.JSON(), nullable=False),
        sa.Column("surveyed_fraction", sa.Float(), nullable=False),
        sa.Column("crack_ratio_pct", sa.Float(), nullable=True),
        sa.Column("category", sa.String(length=4), nullable=True),
        sa.Column("mci", sa.Float(), nullable=True),
        sa.Column("mci_advice", sa.String(length=32), nullable=True),
        sa.Column("defect_counts", sa.JSON(), nullable=False),
        sa.Column("severity_counts", sa.JSON(), nullable=False),
        sa.Column("seen_from_m", sa.Float(), nullable=False),
        sa.Column("seen_to_m", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["route_id"], ["network_routes.route_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "route_id", "unit_index"),
    )
    with op.batch_alter_table("survey_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_units_route_id"), ["route_id"], unique=False)

    op.create_table(
        "defect_locations",
        sa.Column("defect_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("route_id", sa.String(length=200), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("offset_m", sa.Float(), nullable=False),
        sa.Column("unit_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["defect_id"], ["defects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["route_id"], ["network_routes.route_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("defect_id"),
    )
    with op.batch_alter_table("defect_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_defect_locations_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_defect_locations_route_id"), ["route_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("defect_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defect_locations_route_id"))
        batch_op.drop_index(batch_op.f("ix_defect_locations_job_id"))

    op.drop_table("defect_locations")
    with op.batch_alter_table("survey_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_units_route_id"))

    op.drop_table("survey_units")
    op.drop_table("survey_locations")
    op.drop_table("network_routes")
