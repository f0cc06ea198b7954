"""`tenken db`: show and upgrade the store's schema revision (every start upgrades it too)."""

from __future__ import annotations

import typer

from tenken.settings import get_settings
from tenken.store.db import make_engine
from tenken.store.migrate import current_revisions, head_revisions, upgrade_schema


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="The store's schema: its revision, and upgrading it.", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade() -> None:
        """Apply the migrations the store lacks, keeping its data (every start does this too)."""
        engine = make_engine(get_settings().effective_database_url)
        try:
            before = current_revisions(engine)
            upgrade_schema(engine)
            after = current_revisions(engine)
        finally:
            engine.dispose()
        was = ", ".join(before) or "no revision"
        now = ", ".join(after)
        typer.echo(f"store at {now} (was {was})" if before != after else f"store at {now}: up to date")

    @db.command("current")
    def current() -> None:
        """Print the store's revision and the newest one this version of Tenken knows."""
        engine = make_engine(get_settings().effective_database_url)
        try:
            have = current_revisions(engine)
        finally:
            engine.dispose()
        typer.echo(f"store: {', '.join(have) or 'no revision'}; newest: {', '.join(head_revisions())}")

    app.add_typer(db, name="db")
