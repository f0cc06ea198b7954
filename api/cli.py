"""`tenken serve` (the command-post API and map) and `tenken token ...` (API tokens, from the shell)."""

from __future__ import annotations

import typer

from api.query_params import MAX_ROW_ID
from tenken.errors import ConfigError
from tenken.settings import get_settings


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (setting api_host, default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port to listen on (setting api_port, default 8600)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    live: list[str] = typer.Option(
        [],
        "--live",
        help="A drone feed to watch, ID=URL (RTSP, UDP, HTTP MJPEG or a file); repeatable. "
        "Its pose comes from the telemetry posted for that drone.",
    ),
    live_model: str = typer.Option("fire", "--live-model", help="Incident detector for --live feeds."),
    live_scene: str = typer.Option(
        "scene", "--live-scene", help="Scene classifier for --live feeds (landslide, flood); '' for none."
    ),
    live_every_s: float | None = typer.Option(
        None, "--live-every-s", min=0.02, help="Seconds between analysed frames (setting live_every_s)."
    ),
    live_tiles: str | None = typer.Option(
        None,
        "--live-tiles",
        help="Also detect in COLSxROWS overlapping tiles of each frame, e.g. 2x2; off (setting live_tiles).",
    ),
) -> None:
    """Run the command-post API and live map at http://HOST:PORT/map.

    Example: tenken serve --live drone-1=rtsp://10.0.0.7:8554/live
    """
    import uvicorn

    from api.app import create_app
    from api.live_source import LiveSourceSpec
    from vision.live.tiles import TileGrid

    settings = get_settings()
    TileGrid.parse(live_tiles)  # a bad grid is one line now, not a failed start-up
    specs = [
        LiveSourceSpec.parse(
            text, model=live_model, scene_model=live_scene or None, every_s=live_every_s, tiles=live_tiles
        )
        for text in live
    ]
    if len({s.source_id for s in specs}) != len(specs):
        raise ConfigError("--live: each feed needs its own ID")
    if specs:
        from vision.models.registry import get_model

        for name in filter(None, (live_model, live_scene)):
            # a missing model is one line now, not a failed start-up
            get_model(name, settings.models_dir).weights_path(device=settings.device)
    app = create_app(settings, live_sources=specs)
    typer.echo(
        f"Tenken command post on http://{host or settings.api_host}:{port or settings.api_port}/map", err=True
    )
    uvicorn.run(
        app,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=log_level,
        timeout_graceful_shutdown=3,  # live streams never end by themselves
    )


token_app = typer.Typer(
    help="Create, list and revoke API tokens (roles: viewer, operator, admin).", no_args_is_help=True
)


@token_app.command("create")
def token_create(
    role: str = typer.Option(
        ..., help="viewer (read), operator (upload, jobs, telemetry) or admin (tokens)."
    ),
    name: str = typer.Option("", help="A label, e.g. who or what uses the token."),
    expires_in_s: float | None = typer.Option(
        None, "--expires-in-s", help="Lifetime in seconds (default: until revoked); e.g. 28800 for a shift."
    ),
) -> None:
    """Create a token and print its secret (shown only once)."""
    from tenken.store.auth import create_token
    from tenken.store.db import Store

    store = Store(get_settings().effective_database_url)
    with store.session() as session:
        secret, info = create_token(session, role, name, expires_in_s)
    store.dispose()
    typer.echo(
        f"created {info.role} token {info.token_id} ({info.name}); keep this secret, it is not shown again:",
        err=True,
    )
    typer.echo(secret)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from datetime import UTC, datetime

    from tenken.store.auth import list_tokens
    from tenken.store.db import Store

    store = Store(get_settings().effective_database_url)
    now = datetime.now(UTC)
    with store.session() as session:
        for t in list_tokens(session):
            state = "revoked" if t.revoked else "active" if t.valid_at(now) else "expired"
            typer.echo(f"{t.token_id}\t{t.role}\t{state}\t{t.created_at:%Y-%m-%d %H:%M}\t{t.name}")
    store.dispose()


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., min=1, max=MAX_ROW_ID, help="The id `tenken token list` shows."),
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    from tenken.errors import ConfigError
    from tenken.store.auth import revoke_token
    from tenken.store.db import Store

    store = Store(get_settings().effective_database_url)
    with store.session() as session:
        found = revoke_token(session, token_id)
    store.dispose()
    if not found:
        raise ConfigError(f"no token with id {token_id}; see `tenken token list`")
    typer.echo(f"revoked token {token_id}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(token_app, name="token")
