"""Drone tracks: one point a second per vehicle, so the live map rebuilds a track after a reload

Revision ID: 0004_drone_tracks
Revises: 0003_road_network
Create Date: 2026-12-04 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_drone_tracks"
down_revision: str | Sequence[str] | None = "0003_road_network"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drone_track_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.String(length=100), nullable=False),
        sa.Column("timestamp_s", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_drone_track_points_vehicle_id"), "drone_track_points", ["vehicle_id"])
    op.create_index(op.f("ix_drone_track_points_timestamp_s"), "drone_track_points", ["timestamp_s"])


def downgrade() -> None:
    op.drop_index(op.f("ix_drone_track_points_timestamp_s"), table_name="drone_track_points")
    op.drop_index(op.f("ix_drone_track_points_vehicle_id"), table_name="drone_track_points")
    op.drop_table("drone_track_points")
