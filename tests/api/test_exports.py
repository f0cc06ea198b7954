"""Exports of one survey: GeoJSON, CSV, KML and a GeoPackage that GDAL (and so QGIS) reads back."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from tests.api.conftest import auth
from tests.api.seed import defects_along, seed_survey

KML_NS = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.fixture
def survey(services):
    return seed_survey(services.store, defects_along(9))


def export(client, token, job_id, fmt):
    return client.get(f"/api/surveys/{job_id}/export.{fmt}", headers=auth(token))


def test_geojson_export_holds_defects_and_segments(client, tokens, survey):
    response = export(client, tokens["viewer"], survey, "geojson")
    assert response.headers["content-type"] == "application/geo+json"
    assert f'filename="tenken-survey-{survey}.geojson"' in response.headers["content-disposition"]
    layers = [f["properties"]["layer"] for f in response.json()["features"]]
    assert layers.count("defect") == 9 and layers.count("segment") == 2


def test_csv_export_has_one_row_per_defect(client, tokens, survey):
    text = export(client, tokens["viewer"], survey, "csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 9
    assert rows[3]["class"] == "D40" and float(rows[3]["lat"]) > 35


def test_kml_export_places_every_defect_and_segment(client, tokens, survey):
    root = ET.fromstring(export(client, tokens["viewer"], survey, "kml").content)
    points = root.findall(".//k:Placemark/k:Point/k:coordinates", KML_NS)
    lines = root.findall(".//k:Placemark/k:LineString/k:coordinates", KML_NS)
    assert len(points) == 9 and len(lines) == 2
    lon, lat = (float(v) for v in points[0].text.split(",")[:2])
    assert 140 < lon < 141 and 35 < lat < 36


def test_gpkg_export_is_a_geopackage_with_two_layers_in_wgs84(client, tokens, survey, tmp_path):
    import pyogrio

    response = export(client, tokens["viewer"], survey, "gpkg")
    assert response.content[:16] == b"SQLite format 3\x00"
    path = tmp_path / "survey.gpkg"
    path.write_bytes(response.content)
    assert [tuple(layer) for layer in pyogrio.list_layers(path)] == [
        ("defects", "Point"),
        ("segments", "LineString"),
    ]
    info = pyogrio.read_info(path, layer="defects")
    assert info["crs"] == "EPSG:4326" and info["features"] == 9
    assert "severity" in list(info["fields"])
    _meta, _fids, geometry, fields = pyogrio.raw.read(path, layer="segments")
    assert len(geometry) == 2 and list(fields[5]) == ["I", "III"]


def test_an_unknown_format_is_422_naming_the_formats(client, tokens, survey):
    response = export(client, tokens["viewer"], survey, "shp")
    assert response.status_code == 422
    assert "'geojson', 'csv', 'kml' or 'gpkg'" in response.json()["detail"]


def test_exporting_an_unknown_or_unfinished_survey_is_refused(client, tokens, services):
    from tenken.store import jobs as jobstore

    assert export(client, tokens["viewer"], "nope", "csv").status_code == 404
    with services.store.session() as s:
        queued = jobstore.create_video_job(s, "v", "t", detector="road", conf=None, options={}).id
    response = export(client, tokens["viewer"], queued, "csv")
    assert response.status_code == 409 and "queued" in response.json()["detail"]


def test_a_survey_with_no_defects_still_exports_a_valid_geopackage(client, tokens, services, tmp_path):
    import pyogrio

    from tenken.store import defects as defectstore
    from tenken.store import jobs as jobstore

    with services.store.session() as s:
        job_id = jobstore.create_video_job(s, "v", "t", detector="road", conf=None, options={}).id
        jobstore.start_job(
            s, job_id, [[0]], video_start_s=0, duration_s=1, frame_size=(2, 2), frames_in_video=1
        )
        jobstore.complete_job(s, job_id, defectstore.JobFindings([], [], {}, {}, {}), report_dir=None)
    path = tmp_path / "empty.gpkg"
    path.write_bytes(export(client, tokens["viewer"], job_id, "gpkg").content)
    assert pyogrio.read_info(path, layer="defects")["features"] == 0
