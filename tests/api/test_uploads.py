"""Uploads: streamed to disk under server names, size-limited, checked by content; jobs listed, canceled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.conftest import UPLOAD_LIMIT_BYTES, auth

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
<trkpt lat="35.61" lon="140.11"><time>2026-10-14T01:30:00Z</time></trkpt>
<trkpt lat="35.6101" lon="140.1101"><time>2026-10-14T01:30:05Z</time></trkpt>
</trkseg></trk></gpx>
"""


def upload(client, token, video, track, *, video_name="drive.mp4", track_name="drive.gpx", options=None):
    files = {"video": (video_name, video, "video/mp4"), "track": (track_name, track, "application/gpx+xml")}
    data = {"options": json.dumps(options)} if options is not None else None
    return client.post("/api/jobs", headers=auth(token), files=files, data=data)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_an_upload_queues_a_job_with_server_named_files(client, tokens, services, video_bytes):
    response = upload(client, tokens["operator"], video_bytes, GPX, options={"every_m": 3.0, "conf": 0.3})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] == "queued"
    submitted = services.executor.submitted[0]
    assert submitted["id"] == job["id"]
    assert submitted["video"].name == "video.mp4" and submitted["track"].name == "track.gpx"
    assert submitted["video"].read_bytes() == video_bytes
    assert submitted["options"].every_m == 3.0 and submitted["options"].conf == 0.3


def test_a_job_is_listed_with_its_progress_and_can_be_canceled(client, tokens, video_bytes):
    job_id = upload(client, tokens["operator"], video_bytes, GPX).json()["id"]
    listed = client.get("/api/jobs", headers=auth(tokens["viewer"])).json()
    assert [j["id"] for j in listed] == [job_id]
    shown = client.get(f"/api/jobs/{job_id}", headers=auth(tokens["viewer"])).json()
    assert (shown["frames_done"], shown["progress"]) == (0, None)

    assert client.post(f"/api/jobs/{job_id}/cancel", headers=auth(tokens["viewer"])).status_code == 403
    canceled = client.post(f"/api/jobs/{job_id}/cancel", headers=auth(tokens["operator"]))
    assert canceled.json()["state"] == "canceled"
    again = client.post(f"/api/jobs/{job_id}/cancel", headers=auth(tokens["operator"]))
    assert again.status_code == 409 and "already canceled" in again.json()["detail"]


def test_an_unknown_job_is_404(client, tokens):
    assert client.get("/api/jobs/nope", headers=auth(tokens["viewer"])).status_code == 404
    assert client.post("/api/jobs/nope/cancel", headers=auth(tokens["operator"])).status_code == 404


def test_jobs_filtered_by_an_unknown_state_is_422(client, tokens):
    response = client.get("/api/jobs?state=sleeping", headers=auth(tokens["viewer"]))
    assert response.status_code == 422
    assert response.json()["detail"].startswith("query parameter 'state'")


def test_an_oversized_upload_is_413_and_leaves_nothing_on_disk(client, tokens, settings):
    big = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * UPLOAD_LIMIT_BYTES
    response = upload(client, tokens["operator"], big, GPX)
    assert response.status_code == 413
    assert "upload_max_bytes" in response.json()["detail"]
    assert files_under(settings.data_dir / "uploads") == []


def test_an_oversized_upload_without_a_length_header_is_cut_off_while_streaming(client, tokens, settings):
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()

    def body():
        yield head
        for _ in range(UPLOAD_LIMIT_BYTES // 65536 + 2):
            yield b"\x00" * 65536

    response = client.post(
        "/api/jobs",
        headers={**auth(tokens["operator"]), "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body(),
    )
    assert response.status_code == 413
    assert files_under(settings.data_dir / "uploads") == []


def test_a_file_that_is_not_a_video_is_415(client, tokens, settings):
    response = upload(client, tokens["operator"], b"GIF89a" + b"\x00" * 100, GPX, video_name="drive.mp4")
    assert response.status_code == 415
    assert "not a video container" in response.json()["detail"]
    assert files_under(settings.data_dir / "uploads") == []


def test_a_corrupt_video_with_a_video_header_is_422(client, tokens, settings):
    corrupt = b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 1000
    response = upload(client, tokens["operator"], corrupt, GPX)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "video" in detail and str(settings.data_dir) not in detail
    assert files_under(settings.data_dir / "uploads") == []


def test_a_track_that_is_not_a_track_is_422(client, tokens, video_bytes):
    response = upload(client, tokens["operator"], video_bytes, "hello, this is not a track\n")
    assert response.status_code == 422
    assert "track" in response.json()["detail"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"video": ("a.mp4", b"\x00\x00\x00\x18ftypmp42")}, "missing file field 'track'"),
        ({"video": ("a.mp4", b""), "track": ("a.gpx", GPX)}, "video is empty"),
        (
            {"video": ("a.mp4", b"x"), "track": ("a.gpx", GPX), "script": ("x.sh", b"rm")},
            "unexpected form field",
        ),
    ],
)
def test_malformed_uploads_are_400_with_the_reason(client, tokens, files, message):
    response = client.post("/api/jobs", headers=auth(tokens["operator"]), files=files)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_body_that_is_not_multipart_is_415(client, tokens):
    response = client.post("/api/jobs", headers=auth(tokens["operator"]), json={"video": "drive.mp4"})
    assert response.status_code == 415


def test_a_truncated_multipart_body_is_400(client, tokens):
    response = client.post(
        "/api/jobs",
        headers={**auth(tokens["operator"]), "Content-Type": "multipart/form-data; boundary=xyz"},
        content=b'--xyz\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n\r\nabc',
    )
    assert response.status_code == 400


def test_unknown_survey_options_are_422(client, tokens, video_bytes):
    response = upload(client, tokens["operator"], video_bytes, GPX, options={"detector": "os:system"})
    assert response.status_code == 422
    assert "detector: unknown option" in response.json()["detail"]


@pytest.mark.parametrize(
    "evil_name",
    ["../../../../tmp/evil.gpx", "..\\..\\evil.gpx", "/etc/passwd", "track.gpx\x00.sh", "....//x.gpx"],
)
def test_path_traversal_in_file_names_writes_nothing_outside_the_upload_folder(
    client, tokens, services, settings, video_bytes, evil_name, tmp_path
):
    response = upload(
        client, tokens["operator"], video_bytes, GPX, video_name=evil_name, track_name=evil_name
    )
    assert response.status_code == 202, response.text
    submitted = services.executor.submitted[-1]
    uploads = (settings.data_dir / "uploads").resolve()
    for path in (submitted["video"], submitted["track"]):
        assert path.resolve().parent.parent == uploads
        assert path.name in ("video.mp4", "track.gpx", "track.txt")
    outside = [p for p in files_under(settings.data_dir) if not p.resolve().is_relative_to(uploads)]
    assert all(p.name.startswith("tenken.sqlite3") for p in outside)  # only the store itself
    assert not (tmp_path.parent / "evil.gpx").exists() and not Path("/tmp/evil.gpx").exists()
