"""The `tenken` command: a Typer app whose sub-commands each package registers through entry points."""

from __future__ import annotations

import logging
import sys
from importlib import import_module
from importlib.metadata import entry_points

import typer

from tenken import __version__
from tenken.errors import TenkenError

app = typer.Typer(
    name="tenken",
    help=(
        "Tenken (点検) turns road and drone imagery into findings on a map.\n\n"
        "Road crews: `tenken analyze drive.mp4 --track drive.gpx` writes a report folder with a map.\n"
        "Everything runs offline; models ship with Tenken."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tenken {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages to stderr."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# Commands of the core package itself: registered directly, they need no installed entry point.
CORE_COMMANDS = ("tenken.store.cli_db",)


def _register_commands() -> None:
    for module_name in CORE_COMMANDS:
        import_module(module_name).register(app)
    for ep in sorted(entry_points(group="tenken.commands"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:  # an optional extra is not installed: the command is simply absent
            logging.getLogger(__name__).debug("command %s unavailable: %s", ep.name, exc)
            continue
        register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user-facing errors become one line on stderr and a non-zero exit."""
    _register_commands()
    try:
        # In non-standalone mode click returns the code of a `typer.Exit(code)` instead of raising it.
        result = app(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)
    except TenkenError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except typer.TyperException as exc:  # usage errors (typer's own click) in non-standalone mode
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        return int(getattr(exc, "exit_code", 2))
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
