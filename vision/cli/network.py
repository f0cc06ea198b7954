"""`tenken network import|match`, `tenken compare` and `tenken worklist`: the road network and history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from tenken.atomic_dir import atomic_folder
from tenken.errors import ConfigError, NetworkError
from tenken.network.compare import CompareOptions, compare_surveys
from tenken.network.compare_output import is_comparison_folder, write_comparison
from tenken.network.history import load_snapshot, repair_notes, resolve_job_id
from tenken.network.read import read_network
from tenken.network.tables import write_csv, write_gpkg
from tenken.network.units import DEFAULT_UNIT_M
from tenken.network.worklist import worklist_layer
from tenken.settings import get_settings
from tenken.store import network as netstore
from tenken.store.db import Store
from vision.road.network_jobs import locate_all_surveys, locate_stored_survey


def _store() -> Store:
    return Store(get_settings().effective_database_url)


def register(app: typer.Typer) -> None:
    network = typer.Typer(help="The road network surveys are graded on.", no_args_is_help=True)

    @network.command("import")
    def import_network(
        path: Path = typer.Argument(..., help="Centrelines: GeoJSON or GeoPackage (an OSM extract works)."),
        id_field: str | None = typer.Option(
            None, "--id-field", help="Route id field (default: route_id, ref, name, osm_id or id)."
        ),
        name_field: str | None = typer.Option(None, "--name-field", help="Route name field (default: name)."),
        start_field: str | None = typer.Option(
            None, "--start-field", help="Start distance field, m (default: start_m)."
        ),
        unit_m: float = typer.Option(
            DEFAULT_UNIT_M, "--unit-m", min=10.0, help="Length of the graded units, m."
        ),
    ) -> None:
        """Make these centrelines the network, and put every stored survey on it."""
        routes = read_network(
            path, id_field=id_field, name_field=name_field, start_field=start_field, unit_m=unit_m
        )
        store = _store()
        try:
            with store.session() as s:
                netstore.replace_network(s, routes)
                located = locate_all_surveys(s)
        finally:
            store.dispose()
        km = sum(r.length_m for r in routes) / 1000.0
        units = sum(r.n_units for r in routes)
        typer.echo(f"imported {len(routes)} routes, {km:.2f} km, {units} units of {unit_m:g} m")
        typer.echo(f"put {len(located)} stored surveys on the network")

    @network.command("match")
    def match(survey: str = typer.Argument(..., help="Survey (job) id or a unique prefix of it.")) -> None:
        """Put one survey on the network again (after a network change, this is done for all)."""
        store = _store()
        try:
            with store.session() as s:
                job_id = resolve_job_id(s, survey)
                location = locate_stored_survey(s, job_id)
                n_units = len(netstore.survey_units(s, job_id))
                n_defects = len(netstore.defect_locations(s, job_id))
        finally:
            store.dispose()
        typer.echo(
            f"survey {job_id}: {location.fixes_on_network} of {location.fixes_total} fixes on the network, "
            f"{n_units} units graded, {n_defects} defects located"
        )

    app.add_typer(network, name="network")

    @app.command("compare")
    def compare(
        then: str = typer.Argument(..., help="The earlier survey (job id or unique prefix)."),
        now: str = typer.Argument(..., help="The later survey."),
        out: Path = typer.Option(
            ..., "--out", "-o", help="Folder for the map page, GeoJSON, CSV, GeoPackage."
        ),
        match_m: float | None = typer.Option(
            None, "--match-m", min=0.1, help="Same defect when this close, m (default: from position errors)."
        ),
        no_gpkg: bool = typer.Option(False, "--no-gpkg", help="Skip the GeoPackage (no pyogrio)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
    ) -> None:
        """What changed between two surveys of the same roads: defects new, grown, gone; units."""
        store = _store()
        try:
            with store.session() as s:
                ids = [resolve_job_id(s, then), resolve_job_id(s, now)]
                if not netstore.load_network(s):
                    raise NetworkError(
                        "compare needs a road network; import one with `tenken network import`"
                    )
                for job_id in ids:
                    if netstore.get_survey_location(s, job_id) is None:
                        locate_stored_survey(s, job_id)
                a, b = (load_snapshot(s, job_id) for job_id in ids)
                result = compare_surveys(
                    a, b, CompareOptions(match_m=match_m), lambda rows: repair_notes(s, rows)
                )
        finally:
            store.dispose()
        with atomic_folder(out, overwrite=overwrite, replaceable=is_comparison_folder) as folder:
            write_comparison(folder, result, gpkg=not no_gpkg)
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counts().items() if v)
        typer.echo(f"{len(result.defects)} defects: {counts or 'none'}; {len(result.units)} units")
        typer.echo(f"wrote {out}/index.html")

    @app.command("worklist")
    def worklist(
        csv_path: Path | None = typer.Option(None, "--csv", help="Write the work list as CSV here."),
        gpkg_path: Path | None = typer.Option(None, "--gpkg", help="Write it as a GeoPackage layer here."),
        top: int = typer.Option(10, "--top", min=0, help="Units to print."),
    ) -> None:
        """Units ranked worst first (category, MCI, severity), each from its newest survey."""
        for path in (csv_path, gpkg_path):
            if path is not None and path.exists():
                raise ConfigError(f"{path} exists; choose a new file name")
        store = _store()
        try:
            with store.session() as s:
                units = netstore.latest_unit_grades(s)
                names = {r.route_id: r.name for r in netstore.load_network(s)}
        finally:
            store.dispose()
        if not units:
            raise NetworkError("no graded units: import a network and put a survey on it first")
        layer = worklist_layer(units, names)
        if csv_path is not None:
            write_csv(csv_path, layer.rows)
        if gpkg_path is not None:
            write_gpkg(gpkg_path, [layer])
        for row in layer.rows[:top]:
            mci = "-" if row["mci"] is None else f"{row['mci']:.2f}"
            typer.echo(
                f"{row['rank']:>4}  {row['route_id']} {row['from_m']:.0f}-{row['to_m']:.0f} m  "
                f"{row['repair_class']}  MCI {mci}  last {row['last_survey']}"
            )
        typer.echo(f"{len(layer.rows)} units ranked on {datetime.now(UTC).date().isoformat()}")
