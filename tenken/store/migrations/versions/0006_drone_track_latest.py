"""Drone tracks: one index on (vehicle, time, id), so each drone's latest state is an index lookup

`latest_drone_states` (the map's drone cards after a restart) grouped every stored point; with this
index it walks the distinct vehicles and reads each one's newest point, both through the index. The
index also serves a drone's track query, so the single-column vehicle index it replaces goes.

Revision ID: 0006_drone_track_latest
Revises: 0005_reviews_repairs
Create Date: 2026-12-04 18:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_drone_track_latest"
down_revision: str | Sequence[str] | None = "0005_reviews_repairs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_drone_track_points_vehicle_time", "drone_track_points", ["vehicle_id", "timestamp_s", "id"]
    )
    op.drop_index(op.f("ix_drone_track_points_vehicle_id"), table_name="drone_track_points")


def downgrade() -> None:
    op.create_index(op.f("ix_drone_track_points_vehicle_id"), "drone_track_points", ["vehicle_id"])
    op.drop_index("ix_drone_track_points_vehicle_time", table_name="drone_track_points")
