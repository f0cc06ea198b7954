"""The report folder: GeoJSON in [lon, lat], the CSV table, report.json, and a page that needs no network."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tenken.errors import ConfigError
from tenken.findings import Defect, SegmentGrade
from tenken.report import write_report
from tenken.report.geojson import lonlat
from tenken.report.page import page_script
from tenken.report.table import DEFECT_COLUMNS
from tenken.report.writer import is_report_folder

TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
# Latitude and longitude far apart so that a swap cannot pass unnoticed.
POTHOLE = Defect(
    defect_id=1,
    class_name="D40",
    severity="high",
    lat=36.0801,
    lon=140.1102,
    error_m=2.5,
    first_frame=10,
    last_frame=40,
    n_observations=12,
    confidence=0.87,
    ground_ring=((36.08009, 140.1101), (36.08009, 140.1103), (36.08011, 140.1103)),
    crop_path="crops/defect_0001.jpg",
)
CRACK = Defect(
    defect_id=2,
    class_name="D00",
    severity="low",
    lat=36.0805,
    lon=140.1110,
    error_m=3.1,
    first_frame=55,
    last_frame=57,
    n_observations=3,
    confidence=0.51,
)
TRACK = [(36.0800, 140.1100), (36.0804, 140.1108), (36.0809, 140.1117)]
SEEN = SegmentGrade(
    segment_id=0,
    start_m=0.0,
    end_m=100.0,
    line=((36.0800, 140.1100), (36.0804, 140.1108)),
    surveyed_fraction=0.9,
    crack_ratio_pct=23.456,
    category="II",
    mci=4.31,
    defect_counts={"D40": 1, "D00": 1},
    mci_advice="good",
)
UNSEEN = SegmentGrade(
    segment_id=1,
    start_m=100.0,
    end_m=160.0,
    line=((36.0804, 140.1108), (36.0809, 140.1117)),
    surveyed_fraction=0.0,
    crack_ratio_pct=None,
    category=None,
    mci=None,
)


def write(folder: Path, tile_url: str = TILE_URL, defects=(POTHOLE, CRACK)) -> dict:
    return write_report(
        folder,
        list(defects),
        [SEEN, UNSEEN],
        TRACK,
        settings_dict={"sample_every_m": 4.0, "camera_height_m": 1.3, "out": Path("/tmp/x")},
        model_info_dict={"name": "tenken-road", "version": "0.1.0"},
        timings={"decode": 1.25, "detect": 3.5, "total": 5.0},
        counts={"frames_read": 900, "frames_sampled": 120},
        tile_url=tile_url,
    )


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    write(tmp_path / "report")
    return tmp_path / "report"


def load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def page_data(folder: Path) -> dict:
    text = (folder / "data.js").read_text(encoding="ascii")
    prefix = "window.TENKEN_REPORT = "
    assert text.startswith(prefix) and text.rstrip().endswith(";")
    return json.loads(text[len(prefix) :].rstrip().rstrip(";"))


def test_report_folder_holds_every_file(report_dir: Path):
    for name in [
        "index.html",
        "data.js",
        "defects.geojson",
        "defects.csv",
        "segments.geojson",
        "report.json",
    ]:
        assert (report_dir / name).is_file(), name
    for asset in [
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
        "leaflet/LICENSE.txt",
        "report.js",
        "report.css",
    ]:
        assert (report_dir / "assets" / asset).is_file(), asset
    assert list((report_dir / "assets" / "leaflet" / "images").glob("*.png"))


def test_report_is_written_into_an_existing_folder(tmp_path: Path):
    (tmp_path / "keep.txt").write_text("crops live here too")
    write(tmp_path)
    assert (tmp_path / "keep.txt").is_file() and (tmp_path / "index.html").is_file()


def test_geojson_positions_are_lon_lat():
    assert lonlat(36.08, 140.11) == [140.11, 36.08]


def test_defects_geojson_is_point_features_in_lon_lat(report_dir: Path):
    fc = load_json(report_dir / "defects.geojson")
    assert fc["type"] == "FeatureCollection"
    [pothole, crack] = fc["features"]
    assert pothole["type"] == "Feature"
    assert pothole["geometry"] == {"type": "Point", "coordinates": [140.1102, 36.0801]}
    assert crack["geometry"]["coordinates"] == [140.111, 36.0805]
    props = pothole["properties"]
    assert props["class"] == "D40" and props["description"] == "pothole"
    assert (props["severity"], props["n_observations"], props["crop_path"]) == (
        "high",
        12,
        "crops/defect_0001.jpg",
    )
    assert crack["properties"]["crop_path"] is None


def test_segments_geojson_is_linestrings_with_grades(report_dir: Path):
    fc = load_json(report_dir / "segments.geojson")
    seen, unseen = fc["features"]
    assert seen["geometry"] == {"type": "LineString", "coordinates": [[140.11, 36.08], [140.1108, 36.0804]]}
    assert seen["properties"] | {} == {
        "id": 0,
        "start_m": 0.0,
        "end_m": 100.0,
        "surveyed_fraction": 0.9,
        "crack_ratio_pct": 23.46,
        "category": "II",
        "mci": 4.31,
        "mci_advice": "good",
        "defect_counts": {"D40": 1, "D00": 1},
    }
    assert (unseen["properties"]["category"], unseen["properties"]["crack_ratio_pct"]) == (None, None)
    assert unseen["properties"]["surveyed_fraction"] == 0.0


def test_every_geojson_position_is_lon_lat_in_range(report_dir: Path):
    def positions(geometry):
        coords = geometry["coordinates"]
        return [coords] if geometry["type"] == "Point" else coords

    for name in ["defects.geojson", "segments.geojson"]:
        for feature in load_json(report_dir / name)["features"]:
            for lon, lat in positions(feature["geometry"]):
                assert 140.0 < lon < 140.2 and 36.0 < lat < 36.1


def test_csv_has_one_row_per_defect_with_the_agreed_columns(report_dir: Path):
    with (report_dir / "defects.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == DEFECT_COLUMNS
    assert DEFECT_COLUMNS == (
        "id", "class", "description", "severity", "lat", "lon", "error_m", "first_frame", "last_frame",
        "n_observations", "confidence", "crop_path",
    )  # fmt: skip
    assert len(rows) == 2
    assert rows[0] | {} == {
        "id": "1",
        "class": "D40",
        "description": "pothole",
        "severity": "high",
        "lat": "36.0801",
        "lon": "140.1102",
        "error_m": "2.5",
        "first_frame": "10",
        "last_frame": "40",
        "n_observations": "12",
        "confidence": "0.87",
        "crop_path": "crops/defect_0001.jpg",
    }
    assert rows[1]["crop_path"] == ""


def test_csv_of_no_defects_has_only_the_header(tmp_path: Path):
    write(tmp_path, defects=())
    lines = (tmp_path / "defects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines == [",".join(DEFECT_COLUMNS)]


def test_report_json_holds_counts_settings_model_and_timings(report_dir: Path):
    report = load_json(report_dir / "report.json")
    assert report["counts"] == {"frames_read": 900, "frames_sampled": 120}
    assert report["settings"] == {"sample_every_m": 4.0, "camera_height_m": 1.3, "out": "/tmp/x"}
    assert report["model"] == {"name": "tenken-road", "version": "0.1.0"}
    assert report["timings_s"] == {"decode": 1.25, "detect": 3.5, "total": 5.0}
    assert report["defects"] == {
        "total": 2,
        "by_class": {"D00": 1, "D40": 1},
        "by_severity": {"high": 1, "medium": 0, "low": 1},
    }


def test_report_json_summarises_segment_grades(report_dir: Path):
    segments = load_json(report_dir / "report.json")["segments"]
    assert segments["by_category"] == {"I": 0, "II": 1, "III": 0, "not surveyed": 1}
    assert segments["route_length_m"] == 160.0
    assert segments["surveyed_length_m"] == 90.0
    assert segments["crack_ratio_pct_overall"] == pytest.approx(23.46, abs=0.01)


def test_report_says_rutting_and_iri_are_not_measured(report_dir: Path):
    report = load_json(report_dir / "report.json")
    assert "not measured" in report["not_measured"]["rutting_depth"]
    assert "not measured" in report["not_measured"]["iri"]
    # and never a number for them anywhere
    assert not {"rutting_mm", "iri_m_per_km", "rut_depth_mm"} & set(json.dumps(report).split('"'))


def test_page_data_is_a_script_not_a_fetch(report_dir: Path):
    data = page_data(report_dir)
    assert data["defects"] == load_json(report_dir / "defects.geojson")
    assert data["segments"] == load_json(report_dir / "segments.geojson")
    assert data["track"]["geometry"]["coordinates"][0] == [140.11, 36.08]
    assert data["tiles"]["url"] == TILE_URL
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    script = (report_dir / "assets" / "report.js").read_text(encoding="utf-8")
    assert '<script src="data.js"></script>' in page
    assert "fetch(" not in script and "XMLHttpRequest" not in script


def test_page_script_escapes_line_separators_and_script_tags():
    text = page_script({"note": "a\u2028b</script>"})
    assert "\u2028" not in text and "\\u2028" in text
    assert text.isascii()


URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]*)""", re.IGNORECASE)


def test_page_loads_only_local_assets(report_dir: Path):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    targets = URL_ATTRIBUTE.findall(page)
    assert "assets/leaflet/leaflet.js" in targets
    for target in targets:
        assert not re.match(r"(?i)^(https?:)?//", target), target
        assert (report_dir / target).is_file(), target
    for css in (report_dir / "assets").rglob("*.css"):
        for target in CSS_URL.findall(css.read_text(encoding="utf-8")):
            assert target.startswith(("data:", "#")) or (css.parent / target).is_file(), (css, target)


def test_the_only_web_address_in_page_data_is_the_tile_url(report_dir: Path):
    text = (report_dir / "data.js").read_text(encoding="ascii")
    assert re.findall(r"https?://[^\"\\ ]+", text) == [TILE_URL]


def test_page_scripts_load_nothing_from_the_web(report_dir: Path):
    script = (report_dir / "assets" / "report.js").read_text(encoding="utf-8")
    assert not re.search(r"https?://", script)
    # Leaflet's own code names web addresses only in comments, its attribution link and the SVG namespace.
    leaflet = (report_dir / "assets" / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[a-z0-9.]+", leaflet)) <= {
        "http://www.w3.org",
        "https://leafletjs.com",
        "https://bugs.chromium.org",
        "https://bugzilla.mozilla.org",
    }


def test_empty_tile_url_means_no_tiles(tmp_path: Path):
    write(tmp_path, tile_url="")
    data = page_data(tmp_path)
    assert data["tiles"] == {"url": "", "attribution": ""}
    assert not re.search(r"https?://", (tmp_path / "data.js").read_text(encoding="ascii"))


def test_openstreetmap_tiles_carry_their_attribution(tmp_path: Path):
    write(tmp_path, tile_url="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "OpenStreetMap" in page_data(tmp_path)["tiles"]["attribution"]


def test_tile_url_without_placeholders_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"\{z\}"):
        write(tmp_path, tile_url="https://tiles.example.org/map.png")
    assert not (tmp_path / "index.html").exists()


def test_leaflet_ships_with_its_licence(report_dir: Path):
    licence = (report_dir / "assets" / "leaflet" / "LICENSE.txt").read_text(encoding="utf-8")
    assert "BSD 2-Clause" in licence


# --- recognising a report folder (what --overwrite may replace) ---------------------------------


def test_a_written_report_is_recognised_as_one(report_dir: Path):
    assert json.loads((report_dir / "report.json").read_text())["generator"] == "tenken"
    assert is_report_folder(report_dir)


def test_a_report_from_before_the_marker_is_recognised_by_its_model_block(tmp_path: Path):
    (tmp_path / "report.json").write_text(json.dumps({"model": {"name": "road", "tenken_version": "0.1.0"}}))
    assert is_report_folder(tmp_path)


@pytest.mark.parametrize(
    "content", [None, "", "not json", "[1, 2]", '{"title": "quarterly figures"}', '{"model": "road"}']
)
def test_anything_else_is_not_a_report(tmp_path: Path, content: str | None):
    if content is not None:
        (tmp_path / "report.json").write_text(content)
    assert not is_report_folder(tmp_path)
