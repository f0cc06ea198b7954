"""The tables of the store. Each concern adds its models in its own module, imported here."""

from __future__ import annotations

# Modules defining tables are imported here so that Alembic (the migrations' env.py) sees them all, e.g.:
# from tenken.store import jobs
from tenken.store import (  # noqa: F401
    auth,
    defects,
    drone_tracks,
    incidents,
    job_frames,
    jobs,
    network,
    repairs,
    reviews,
)
