"""Hostile but authorised callers: every bad survey option, id, offset or time is a 4xx naming it."""

from __future__ import annotations

import math

import httpx
import pytest

from tests.api.conftest import auth
from tests.api.test_uploads import GPX, upload
from vision.road.survey_options import CAMERA_PROFILES, default_every_m

TOO_BIG = 2**63  # one past what SQLite and PostgreSQL BIGINT hold


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"segment_m": 1e-9}, "segment_m"),
        ({"every_m": 1e-9}, "every_m"),
        ({"camera": {"hfov_deg": 0}}, "camera.hfov_deg"),
        ({"lane_width_m": 0}, "lane_width_m"),
        ({"gps_error_m": math.nan}, "gps_error_m"),  # json.dumps writes NaN, as a careless client would
        ({"camera": {"height_m": "abc"}}, "camera.height_m"),
        ({"camera": "tractor"}, "camera"),
        ({"max_frames": TOO_BIG}, "max_frames"),
    ],
)
def test_a_bad_survey_option_is_422_naming_the_field_and_queues_nothing(
    client, tokens, services, settings, video_bytes, options, field
):
    response = upload(client, tokens["operator"], video_bytes, GPX, options=options)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"invalid survey options: {field}: ")
    assert "Error" not in detail and "vision." not in detail  # no Python class or module names
    assert services.executor.submitted == []
    assert not any((settings.data_dir / "uploads").glob("*/*"))  # the upload is discarded


def test_a_camera_profile_name_works_as_in_the_cli(client, tokens, services, video_bytes):
    response = upload(client, tokens["operator"], video_bytes, GPX, options={"camera": "motorbike"})
    assert response.status_code == 202, response.text
    options = services.executor.submitted[0]["options"]
    assert options.camera == CAMERA_PROFILES["motorbike"]
    assert options.every_m == default_every_m(CAMERA_PROFILES["motorbike"])  # as `tenken analyze` samples


@pytest.mark.parametrize(
    "path",
    [
        f"/api/jobs?offset={TOO_BIG}",
        f"/api/findings?offset={TOO_BIG}",
        f"/api/defects/{TOO_BIG}",
        f"/api/defects/{TOO_BIG}/crop",
        f"/api/defects/{2**31}",  # past PostgreSQL's 32-bit ids
        f"/api/incidents/{TOO_BIG}",
        "/api/incidents?since_s=nan",
        "/api/incidents?until_s=inf",
        "/api/findings?since_s=nan",
        "/api/findings?until_s=-inf",
        "/api/telemetry/drone/track?since_s=nan",
    ],
)
def test_numbers_the_store_cannot_hold_are_422_naming_the_parameter(client, tokens, path):
    response = client.get(path, headers=auth(tokens["viewer"]))
    assert response.status_code == 422, response.text
    name = path.split("?")[1].split("=")[0] if "?" in path else "defect_id"
    if "/incidents/" in path:
        name = "incident_id"
    assert name in response.json()["detail"]


def test_revoking_a_token_id_too_big_is_422(client, tokens):
    response = client.delete(f"/api/tokens/{TOO_BIG}", headers=auth(tokens["admin"]))
    assert response.status_code == 422
    assert "token_id" in response.json()["detail"]


def test_closing_an_incident_id_too_big_is_422(client, tokens):
    response = client.post(
        f"/api/incidents/{TOO_BIG}/close", headers=auth(tokens["operator"]), json={"timestamp_s": 1.0}
    )
    assert response.status_code == 422


def test_bad_options_sent_first_are_refused_before_the_video_is_stored(live_server, tokens, settings):
    boundary = "tenkenboundary"

    def body():  # streamed without a length, so only the options can stop it before the size limit
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="options"\r\n\r\n'
            f'{{"segment_m": 1e-9}}\r\n--{boundary}\r\n'
            'Content-Disposition: form-data; name="video"; filename="drive.mp4"\r\n\r\n'
        ).encode()
        yield b"\x00\x00\x00\x18ftypmp42"
        for _ in range(64):  # 4 MiB, past the test's 3 MB upload limit
            yield bytes(64 * 1024)

    response = httpx.post(  # a real server: the body reaches the app in pieces, as it would in use
        live_server.url + "/api/jobs",
        headers={**auth(tokens["operator"]), "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body(),
        timeout=60,
    )
    assert response.status_code == 422, response.text  # not 413: refused at the options
    assert response.json()["detail"].startswith("invalid survey options: segment_m: ")
    assert not any((settings.data_dir / "uploads").glob("*/*"))
