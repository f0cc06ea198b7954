"""`tenken repairs export` filters by status and writes GeoJSON or CSV; bad input is one clear line."""

from __future__ import annotations

import csv
import json

import pytest

import tenken.cli
from tenken.cli import main
from tenken.settings import get_settings
from tenken.store.db import Store
from tenken.store.defects import query_defects
from tenken.store.repairs import set_repair_status
from tests.api.seed import defects_along, seed_survey
from vision.cli.review import register


@pytest.fixture(scope="module", autouse=True)
def _commands():
    register(tenken.cli.app)


@pytest.fixture
def survey(tmp_path, monkeypatch):
    monkeypatch.setenv("TENKEN_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    store = Store(get_settings().effective_database_url)
    job_id = seed_survey(store, defects_along(6))
    with store.session() as s:
        ids = [r.id for r in query_defects(s, job_id=job_id)]
        set_repair_status(s, ids[0], "scheduled", by="sato", note="crew 3")
        set_repair_status(s, ids[1], "dismissed", by="sato")
    store.dispose()
    yield job_id, ids
    get_settings.cache_clear()


def test_export_by_status_as_geojson_and_csv(survey, tmp_path):
    job_id, ids = survey
    assert main(["repairs", "export", str(tmp_path / "s.geojson"), "--status", "scheduled"]) == 0
    features = json.loads((tmp_path / "s.geojson").read_text())["features"]
    assert [f["id"] for f in features] == [ids[0]]
    assert features[0]["properties"]["changed_by"] == "sato" and features[0]["properties"]["note"] == "crew 3"
    args = ["repairs", "export", str(tmp_path / "o.csv"), "--status", "open", "--survey", job_id[:8]]
    assert main(args) == 0
    rows = list(csv.DictReader((tmp_path / "o.csv").open()))
    assert [int(r["id"]) for r in rows] == ids[2:] and {r["status"] for r in rows} == {"open"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["x.geojson", "--status", "fixed"], "status must be one of"),
        (["x.kml"], "write .geojson or .csv"),
        (["x.csv", "--survey", "nosuch"], "nosuch"),
    ],
)
def test_bad_input_is_one_clear_line(survey, tmp_path, capsys, args, words):
    args[0] = str(tmp_path / args[0])
    assert main(["repairs", "export", *args]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0]
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.geojson").exists()


def test_an_existing_file_is_not_overwritten(survey, tmp_path, capsys):
    target = tmp_path / "mine.csv"
    target.write_text("keep me")
    assert main(["repairs", "export", str(target)]) != 0
    assert target.read_text() == "keep me" and "exists" in capsys.readouterr().err
