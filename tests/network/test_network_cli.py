"""`tenken network import|match`, `tenken compare`, `tenken worklist` as a road department runs them."""

from __future__ import annotations

import csv
import json

import pytest

import tenken.cli
from tenken.cli import main
from tenken.settings import get_settings
from tenken.store.db import Store
from tests.network_drives import DRIVE_A, DRIVE_B, network_geojson, store_drive
from vision.cli.network import register


@pytest.fixture(scope="module", autouse=True)
def _commands():
    # The entry point registers these once `pip install -e .` has read pyproject; register directly.
    register(tenken.cli.app)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TENKEN_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.fixture
def surveys(data_dir):
    store = Store(get_settings().effective_database_url)
    ids = store_drive(store, DRIVE_A), store_drive(store, DRIVE_B)
    store.dispose()
    return ids


@pytest.fixture
def roads(tmp_path):
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(network_geojson()))
    return path


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_puts_every_stored_survey_on_the_network(capsys, surveys, roads):
    code, out, _ = run(capsys, "network", "import", str(roads))
    assert code == 0
    assert "imported 2 routes" in out and "units of 100 m" in out
    assert "put 2 stored surveys on the network" in out
    code, out, _ = run(capsys, "network", "match", surveys[1][:8])
    assert code == 0 and "5 units graded, 9 defects located" in out


def test_compare_writes_the_page_and_tables(capsys, surveys, roads, tmp_path):
    run(capsys, "network", "import", str(roads))
    out_dir = tmp_path / "changes"
    code, out, err = run(capsys, "compare", surveys[0], surveys[1], "--out", str(out_dir))
    assert code == 0, err
    assert (
        "12 defects: new 2, grown 2, shrunk 1, unchanged 3, not seen again 2, "
        "not surveyed again 1, first surveyed 1; 5 units" in out
    )
    assert (out_dir / "index.html").is_file() and (out_dir / "changes.gpkg").is_file()


def test_compare_overwrite_replaces_an_earlier_comparison_and_nothing_else(capsys, surveys, roads, tmp_path):
    run(capsys, "network", "import", str(roads))
    out_dir = tmp_path / "changes"
    assert run(capsys, "compare", surveys[0], surveys[1], "--out", str(out_dir))[0] == 0
    code, _, err = run(capsys, "compare", surveys[0], surveys[1], "--out", str(out_dir), "--overwrite")
    assert code == 0, err
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "compare", surveys[0], surveys[1], "--out", str(mine), "--overwrite")
    assert code != 0 and (mine / "notes.txt").read_text() == "mine"


def test_worklist_ranks_units_worst_first_with_what_an_asset_system_needs(capsys, surveys, roads, tmp_path):
    run(capsys, "network", "import", str(roads))
    path = tmp_path / "worklist.csv"
    code, out, _ = run(capsys, "worklist", "--csv", str(path), "--gpkg", str(tmp_path / "worklist.gpkg"))
    assert code == 0 and "5 units ranked" in out
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    mcis = [float(r["mci"]) for r in rows]
    assert mcis == sorted(mcis)  # all category I here: lowest MCI first
    first = rows[0]
    for column in ("route_id", "from_m", "to_m", "category", "mci", "n_D40", "n_high", "last_survey"):
        assert column in first
    assert {r["last_survey"] for r in rows} == {"2026-10-03"}  # the newer survey grades every unit
    assert (tmp_path / "worklist.gpkg").is_file()


def test_compare_without_a_network_says_how_to_get_one(capsys, surveys, tmp_path):
    code, _, err = run(capsys, "compare", surveys[0], surveys[1], "--out", str(tmp_path / "x"))
    assert code != 0 and err.count("\n") == 1 and "tenken network import" in err


def test_unknown_survey_is_named(capsys, data_dir, roads, tmp_path):
    run(capsys, "network", "import", str(roads))
    code, _, err = run(capsys, "compare", "deadbeef", "feedface", "--out", str(tmp_path / "x"))
    assert code != 0 and "no survey with id 'deadbeef'" in err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json", "not readable GeoJSON"),
        ('{"type": "FeatureCollection", "features": []}', "no LineString centrelines"),
        (
            '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
            '"geometry":{"type":"Point","coordinates":[140,35]}}]}',
            "no LineString centrelines",
        ),
    ],
)
def test_a_bad_network_file_is_one_line(capsys, data_dir, tmp_path, content, fragment):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    code, _, err = run(capsys, "network", "import", str(path))
    assert code != 0 and err.count("\n") == 1 and fragment in err


def test_worklist_refuses_to_overwrite_a_file(capsys, data_dir, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("keep me")
    code, _, err = run(capsys, "worklist", "--csv", str(path))
    assert code != 0 and "exists" in err and path.read_text() == "keep me"
