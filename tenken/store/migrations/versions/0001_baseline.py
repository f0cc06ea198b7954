"""Baseline: the tables of the store before migrations (jobs, findings, incidents, tokens)

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-04 15:24:06.516503
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A store made before migrations already has these tables: create only what is missing.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "api_tokens" not in existing:
        op.create_table(
            "api_tokens",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("api_tokens", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_api_tokens_token_hash"), ["token_hash"], unique=True)
    if "incidents" not in existing:
        op.create_table(
            "incidents",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(length=200), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("lat", sa.Float(), nullable=False),
            sa.Column("lon", sa.Float(), nullable=False),
            sa.Column("error_m", sa.Float(), nullable=False),
            sa.Column("first_seen_s", sa.Float(), nullable=False),
            sa.Column("last_seen_s", sa.Float(), nullable=False),
            sa.Column("closed_s", sa.Float(), nullable=True),
            sa.Column("confidence", sa.Float(), nullable=False),
            sa.Column("source", sa.String(length=100), nullable=False),
            sa.Column("frame_ref", sa.String(length=500), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("incidents", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_incidents_first_seen_s"), ["first_seen_s"], unique=False)
            batch_op.create_index(batch_op.f("ix_incidents_key"), ["key"], unique=True)
            batch_op.create_index(batch_op.f("ix_incidents_kind"), ["kind"], unique=False)
            batch_op.create_index(batch_op.f("ix_incidents_source"), ["source"], unique=False)
            batch_op.create_index(batch_op.f("ix_incidents_state"), ["state"], unique=False)
    if "jobs" not in existing:
        op.create_table(
            "jobs",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("video_path", sa.Text(), nullable=False),
            sa.Column("track_path", sa.Text(), nullable=False),
            sa.Column("detector", sa.Text(), nullable=False),
            sa.Column("conf", sa.Float(), nullable=True),
            sa.Column("options", sa.JSON(), nullable=False),
            sa.Column("frames_done", sa.Integer(), nullable=False),
            sa.Column("frames_total", sa.Integer(), nullable=True),
            sa.Column("video_start_s", sa.Float(), nullable=True),
            sa.Column("duration_s", sa.Float(), nullable=True),
            sa.Column("frame_width", sa.Integer(), nullable=True),
            sa.Column("frame_height", sa.Integer(), nullable=True),
            sa.Column("frames_in_video", sa.Integer(), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("errors", sa.JSON(), nullable=False),
            sa.Column("report_dir", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("jobs", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_jobs_created_at"), ["created_at"], unique=False)
            batch_op.create_index(batch_op.f("ix_jobs_state"), ["state"], unique=False)
    if "defects" not in existing:
        op.create_table(
            "defects",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("job_id", sa.String(length=32), nullable=False),
            sa.Column("defect_id", sa.Integer(), nullable=False),
            sa.Column("class_name", sa.String(length=32), nullable=False),
            sa.Column("severity", sa.String(length=16), nullable=False),
            sa.Column("lat", sa.Float(), nullable=False),
            sa.Column("lon", sa.Float(), nullable=False),
            sa.Column("error_m", sa.Float(), nullable=False),
            sa.Column("first_frame", sa.Integer(), nullable=False),
            sa.Column("last_frame", sa.Integer(), nullable=False),
            sa.Column("best_frame", sa.Integer(), nullable=False),
            sa.Column("n_observations", sa.Integer(), nullable=False),
            sa.Column("confidence", sa.Float(), nullable=False),
            sa.Column("ground_ring", sa.JSON(), nullable=False),
            sa.Column("seen_at_s", sa.Float(), nullable=False),
            sa.Column("members", sa.JSON(), nullable=False),
            sa.Column("crop_jpeg", sa.LargeBinary(), nullable=True),
            sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("defects", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_defects_class_name"), ["class_name"], unique=False)
            batch_op.create_index(batch_op.f("ix_defects_job_id"), ["job_id"], unique=False)
            batch_op.create_index("ix_defects_lat_lon", ["lat", "lon"], unique=False)
            batch_op.create_index(batch_op.f("ix_defects_seen_at_s"), ["seen_at_s"], unique=False)
            batch_op.create_index(batch_op.f("ix_defects_severity"), ["severity"], unique=False)
    if "incident_observations" not in existing:
        op.create_table(
            "incident_observations",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("incident_id", sa.Integer(), nullable=False),
            sa.Column("timestamp_s", sa.Float(), nullable=False),
            sa.Column("lat", sa.Float(), nullable=False),
            sa.Column("lon", sa.Float(), nullable=False),
            sa.Column("error_m", sa.Float(), nullable=False),
            sa.Column("confidence", sa.Float(), nullable=False),
            sa.Column("frame_ref", sa.String(length=500), nullable=True),
            sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("incident_observations", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_incident_observations_incident_id"), ["incident_id"], unique=False
            )
    if "job_chunks" not in existing:
        op.create_table(
            "job_chunks",
            sa.Column("job_id", sa.String(length=32), nullable=False),
            sa.Column("index", sa.Integer(), nullable=False),
            sa.Column("frame_indices", sa.JSON(), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("job_id", "index"),
        )
    if "job_frame_crops" not in existing:
        op.create_table(
            "job_frame_crops",
            sa.Column("job_id", sa.String(length=32), nullable=False),
            sa.Column("frame_index", sa.Integer(), nullable=False),
            sa.Column("k", sa.Integer(), nullable=False),
            sa.Column("jpeg", sa.LargeBinary(), nullable=False),
            sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("job_id", "frame_index", "k"),
        )
    if "job_frames" not in existing:
        op.create_table(
            "job_frames",
            sa.Column("job_id", sa.String(length=32), nullable=False),
            sa.Column("frame_index", sa.Integer(), nullable=False),
            sa.Column("pose", sa.JSON(), nullable=False),
            sa.Column("observations", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("job_id", "frame_index"),
        )
    if "segments" not in existing:
        op.create_table(
            "segments",
            sa.Column("job_id", sa.String(length=32), nullable=False),
            sa.Column("segment_id", sa.Integer(), nullable=False),
            sa.Column("start_m", sa.Float(), nullable=False),
            sa.Column("end_m", sa.Float(), nullable=False),
            sa.Column("line", sa.JSON(), nullable=False),
            sa.Column("surveyed_fraction", sa.Float(), nullable=False),
            sa.Column("crack_ratio_pct", sa.Float(), nullable=True),
            sa.Column("category", sa.String(length=4), nullable=True),
            sa.Column("mci", sa.Float(), nullable=True),
            sa.Column("mci_advice", sa.String(length=32), nullable=True),
            sa.Column("defect_counts", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("job_id", "segment_id"),
        )


def downgrade() -> None:
    op.drop_table("segments")
    op.drop_table("job_frames")
    op.drop_table("job_frame_crops")
    op.drop_table("job_chunks")
    with op.batch_alter_table("incident_observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_observations_incident_id"))

    op.drop_table("incident_observations")
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defects_severity"))
        batch_op.drop_index(batch_op.f("ix_defects_seen_at_s"))
        batch_op.drop_index("ix_defects_lat_lon")
        batch_op.drop_index(batch_op.f("ix_defects_job_id"))
        batch_op.drop_index(batch_op.f("ix_defects_class_name"))

    op.drop_table("defects")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_jobs_created_at"))

    op.drop_table("jobs")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_state"))
        batch_op.drop_index(batch_op.f("ix_incidents_source"))
        batch_op.drop_index(batch_op.f("ix_incidents_kind"))
        batch_op.drop_index(batch_op.f("ix_incidents_key"))
        batch_op.drop_index(batch_op.f("ix_incidents_first_seen_s"))

    op.drop_table("incidents")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_token_hash"))

    op.drop_table("api_tokens")
