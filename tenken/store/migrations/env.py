"""Alembic environment of the store: runs on the connection `tenken.store.migrate` hands it."""

from __future__ import annotations

from alembic import context

import tenken.store.models  # noqa: F401  (registers every table on Base.metadata)
from tenken.store.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the store's migrations through tenken.store.migrate (tenken db upgrade)")

# SQLite cannot ALTER most things in place; batch mode copies the table instead.
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
