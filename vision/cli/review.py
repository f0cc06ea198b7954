"""`tenken export training` (reviewed findings as a training set) and `tenken repairs` (repair status)."""

from __future__ import annotations

from pathlib import Path

import typer

from tenken.errors import ConfigError
from tenken.network.history import resolve_job_id
from tenken.repair_export import repairs_csv, repairs_geojson
from tenken.settings import get_settings
from tenken.store.db import Store
from tenken.store.repairs import STATUSES, defects_by_status
from vision.road.training_export import export_training


def _store() -> Store:
    return Store(get_settings().effective_database_url)


def register(app: typer.Typer) -> None:
    export = typer.Typer(help="Exports for other tools.", no_args_is_help=True)

    @export.command("training")
    def training(
        survey: list[str] = typer.Option(
            ..., "--survey", help="Survey (job) id or unique prefix; repeat for several."
        ),
        out: Path = typer.Option(..., "--out", help="New folder to write (RDD VOC layout)."),
        val_fraction: float = typer.Option(0.15, "--val-fraction", help="Share of frames listed in val.txt."),
    ) -> None:
        """Write the reviewed frames with corrected boxes as a VOC folder for `tenken train road --data`."""
        store = _store()
        try:
            with store.session() as s:
                job_ids = [resolve_job_id(s, x) for x in survey]
                manifest = export_training(s, job_ids, out, val_fraction=val_fraction)
        finally:
            store.dispose()
        images = manifest["images"]
        assert isinstance(images, list)
        n_objects = sum(len(i["objects"]) for i in images)
        typer.echo(f"wrote {len(images)} frames with {n_objects} boxes to {out} (faces and plates blurred)")

    repairs = typer.Typer(help="Repair status of findings.", no_args_is_help=True)

    @repairs.command("export")
    def export_repairs(
        out: Path = typer.Argument(..., help="File to write: .geojson or .csv."),
        status: list[str] = typer.Option(
            [], "--status", help=f"{', '.join(STATUSES)}; repeat; all when absent."
        ),
        survey: str | None = typer.Option(None, "--survey", help="Only this survey (id or unique prefix)."),
    ) -> None:
        """Write findings with their repair status, filtered by status."""
        if out.suffix.lower() not in (".geojson", ".csv"):
            raise ConfigError(f"{out}: write .geojson or .csv")
        if out.exists():
            raise ConfigError(f"{out} exists; choose a new file name")
        store = _store()
        try:
            with store.session() as s:
                job_id = resolve_job_id(s, survey) if survey else None
                rows = defects_by_status(s, status, job_id=job_id)
        finally:
            store.dispose()
        out.write_bytes(repairs_geojson(rows) if out.suffix.lower() == ".geojson" else repairs_csv(rows))
        typer.echo(f"wrote {len(rows)} findings to {out}")

    app.add_typer(export, name="export")
    app.add_typer(repairs, name="repairs")
