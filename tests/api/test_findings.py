"""Findings: GeoJSON with filters, one defect with its observations, evidence crops, segment grades."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth
from tests.api.seed import ORIGIN, defects_along, seed_survey

SEEN_AT_S = 1_790_000_000.0


@pytest.fixture
def surveys(services):
    """Two surveys: 12 defects near the origin, 6 defects about 1 km north."""
    near = seed_survey(services.store, defects_along(12), seen_at_s=SEEN_AT_S)
    north = seed_survey(services.store, defects_along(6, lat0=ORIGIN[0] + 0.01), seen_at_s=SEEN_AT_S + 86400)
    return near, north


def features(client, token, **params):
    response = client.get("/api/findings", headers=auth(token), params=params)
    assert response.status_code == 200, response.text
    return response.json()["features"]


def test_findings_are_geojson_points_in_lon_lat_order(client, tokens, surveys):
    found = features(client, tokens["viewer"])
    assert len(found) == 18
    first = found[0]
    assert first["type"] == "Feature" and first["geometry"]["type"] == "Point"
    lon, lat = first["geometry"]["coordinates"]
    assert (round(lat, 4), round(lon, 4)) == (round(ORIGIN[0], 4), round(ORIGIN[1], 4))
    assert first["properties"]["crop_path"] == f"/api/defects/{first['id']}/crop"


def test_a_bbox_keeps_only_the_defects_inside(client, tokens, surveys):
    south = f"{ORIGIN[1] - 0.01},{ORIGIN[0] - 0.001},{ORIGIN[1] + 0.01},{ORIGIN[0] + 0.001}"
    assert len(features(client, tokens["viewer"], bbox=south)) == 12


def test_class_and_severity_filters_combine(client, tokens, surveys):
    found = features(client, tokens["viewer"], **{"class": ["D40", "D00"], "severity": "high"})
    assert found and all(f["properties"]["class"] in ("D40", "D00") for f in found)
    assert all(f["properties"]["severity"] == "high" for f in found)


def test_a_survey_filter_keeps_one_survey(client, tokens, surveys):
    _near, north = surveys
    found = features(client, tokens["viewer"], job_id=north)
    assert len(found) == 6 and {f["properties"]["job_id"] for f in found} == {north}


def test_a_time_range_keeps_the_defects_first_seen_in_it(client, tokens, surveys):
    found = features(client, tokens["viewer"], since_s=SEEN_AT_S + 3600)
    assert len(found) == 6
    found = features(client, tokens["viewer"], since_s=SEEN_AT_S, until_s=SEEN_AT_S + 4)
    assert len(found) == 5


def test_limit_and_offset_page_through_findings(client, tokens, surveys):
    page1 = features(client, tokens["viewer"], limit=10)
    page2 = features(client, tokens["viewer"], limit=10, offset=10)
    assert len(page1) == 10 and len(page2) == 8
    assert not {f["id"] for f in page1} & {f["id"] for f in page2}


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"bbox": "1,2,3"}, 400, "must be four numbers"),
        ({"bbox": "a,b,c,d"}, 400, "must be four numbers"),
        ({"bbox": "140,36,139,35"}, 400, "minimum first"),
        ({"bbox": "0,0,200,10"}, 400, "within -180..180"),
        ({"severity": "catastrophic"}, 422, "query parameter 'severity'"),
        ({"since_s": "yesterday"}, 422, "query parameter 'since_s'"),
        ({"since_s": 10, "until_s": 5}, 400, "is after until_s"),
        ({"limit": 0}, 422, "query parameter 'limit'"),
    ],
)
def test_bad_query_parameters_are_4xx_with_a_clear_message(client, tokens, params, status, message):
    response = client.get("/api/findings", headers=auth(tokens["viewer"]), params=params)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_one_defect_comes_with_its_observations(client, tokens, surveys):
    defect_id = features(client, tokens["viewer"])[3]["id"]
    response = client.get(f"/api/defects/{defect_id}", headers=auth(tokens["viewer"]))
    assert response.status_code == 200
    observations = response.json()["properties"]["observations"]
    assert [o["frame_index"] for o in observations] == [30, 32]
    assert observations[0]["class_name"] == "D40"


def test_an_unknown_defect_is_404(client, tokens):
    assert client.get("/api/defects/12345", headers=auth(tokens["viewer"])).status_code == 404
    assert client.get("/api/defects/12345/crop", headers=auth(tokens["viewer"])).status_code == 404
    assert client.get("/api/defects/abc", headers=auth(tokens["viewer"])).status_code == 422


def test_the_evidence_crop_is_a_jpeg(client, tokens, surveys):
    defect_id = features(client, tokens["viewer"])[0]["id"]
    response = client.get(f"/api/defects/{defect_id}/crop", headers=auth(tokens["viewer"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff"


def test_the_crop_can_be_fetched_with_a_query_token_for_img_tags(client, tokens, surveys):
    defect_id = features(client, tokens["viewer"])[0]["id"]
    assert client.get(f"/api/defects/{defect_id}/crop?token={tokens['viewer']}").status_code == 200


def test_segment_grades_are_lines_with_their_category(client, tokens, surveys):
    near, _ = surveys
    response = client.get("/api/segments", headers=auth(tokens["viewer"]), params={"job_id": near})
    segments = response.json()["features"]
    assert [s["properties"]["category"] for s in segments] == ["I", "III"]
    assert segments[0]["geometry"]["type"] == "LineString"
    everything = client.get("/api/segments", headers=auth(tokens["viewer"])).json()["features"]
    assert len(everything) == 4


def test_segments_of_an_unknown_survey_are_404(client, tokens):
    assert client.get("/api/segments?job_id=nope", headers=auth(tokens["viewer"])).status_code == 404
