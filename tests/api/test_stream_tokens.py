"""Secrets in URLs: never in the access log; stream tickets; open streams end when their token does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tenken.store.auth import ApiToken, StreamTicket, create_token, hash_token
from tenken.store.db import Store
from tests.api.conftest import auth, free_port

REPO = Path(__file__).resolve().parents[2]


class StreamWatcher:
    """Follows an event stream in a thread and records whether the server ended it."""

    def __init__(self, url: str, **params: str) -> None:
        self.url, self.params = url, params
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.lines: list[str] = []
        self.status: int | None = None
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        try:
            with httpx.stream("GET", self.url + "/api/stream", params=self.params, timeout=None) as r:
                self.status = r.status_code
                self.opened.set()
                for line in r.iter_lines():
                    self.lines.append(line)
        except httpx.HTTPError:  # the test's server stopped under a stream still open
            pass
        finally:
            self.opened.set()
            self.ended.set()


def ticket_for(server_url: str, token: str) -> str:
    response = httpx.post(server_url + "/api/stream-tickets", headers=auth(token))
    assert response.status_code == 201, response.text
    return str(response.json()["ticket"])


def test_a_stream_ticket_opens_the_stream_in_place_of_the_token(live_server, tokens):
    watcher = StreamWatcher(live_server.url, ticket=ticket_for(live_server.url, tokens["viewer"]))
    assert watcher.opened.wait(30)
    assert watcher.status == 200
    assert not watcher.ended.is_set()


def test_a_ticket_opens_nothing_once_expired_nor_outside_a_get(live_server, tokens, services):
    ticket = ticket_for(live_server.url, tokens["viewer"])
    response = httpx.post(live_server.url + "/api/stream-tickets", params={"ticket": ticket})
    assert response.status_code == 401  # a ticket cannot mint tickets: only GET takes secrets in URLs
    assert httpx.get(live_server.url + "/api/me", headers=auth(ticket)).status_code == 401  # not a token
    with services.store.session() as s:
        s.get(StreamTicket, hash_token(ticket)).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    refused = httpx.get(live_server.url + "/api/stream", params={"ticket": ticket})
    assert refused.status_code == 401
    assert "expired stream ticket" in refused.json()["detail"]


def test_revoking_a_token_ends_its_open_streams(live_server, tokens):
    viewer = tokens["viewer"]
    by_ticket = StreamWatcher(live_server.url, ticket=ticket_for(live_server.url, viewer))
    by_token = StreamWatcher(live_server.url, token=viewer)
    other = StreamWatcher(live_server.url, token=tokens["operator"])
    assert by_ticket.opened.wait(30) and by_token.opened.wait(30) and other.opened.wait(30)
    me = httpx.get(live_server.url + "/api/me", headers=auth(viewer)).json()
    revoked = httpx.delete(f"{live_server.url}/api/tokens/{me['id']}", headers=auth(tokens["admin"]))
    assert revoked.status_code == 204
    assert by_ticket.ended.wait(60) and by_token.ended.wait(60)
    assert ": token revoked" in by_ticket.lines
    assert not other.ended.is_set()  # the other token's stream goes on
    assert httpx.get(live_server.url + "/api/stream", params={"token": viewer}).status_code == 401


def test_an_expired_token_ends_its_open_stream(live_server, services):
    with services.store.session() as s:
        secret, info = create_token(s, "viewer", "for one shift", expires_in_s=3600)
    watcher = StreamWatcher(live_server.url, ticket=ticket_for(live_server.url, secret))
    assert watcher.opened.wait(30) and watcher.status == 200
    with services.store.session() as s:  # the shift is over
        s.get(ApiToken, info.token_id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert watcher.ended.wait(60)
    assert httpx.get(live_server.url + "/api/me", headers=auth(secret)).status_code == 401


def test_a_ticket_never_outlives_its_token(client, services):
    with services.store.session() as s:
        secret, _ = create_token(s, "viewer", "short", expires_in_s=5)
    response = client.post("/api/stream-tickets", headers=auth(secret))
    assert response.status_code == 201
    assert response.json()["expires_in_s"] <= 5


@pytest.fixture
def served(tmp_path):
    """`tenken serve` in its own process, as a user runs it, with its log captured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENKEN_")}
    env.update(TENKEN_DATA_DIR=str(tmp_path / "data"), TENKEN_TILE_URL="", PYTHONPATH=str(REPO))
    store = Store(f"sqlite:///{tmp_path / 'data' / 'tenken.sqlite3'}")
    with store.session() as s:
        secret = create_token(s, "viewer", "map screen")[0]
    store.dispose()
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tenken.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/map")
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        try:
            yield url, secret, proc, log_path
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)


def test_the_access_log_of_a_real_server_never_holds_a_secret(served):
    url, secret, proc, log_path = served
    ticket = ticket_for(url, secret)
    assert httpx.get(url + "/api/me", params={"token": secret}).status_code == 200
    assert httpx.get(url + "/api/me?tok%65n=" + secret).status_code == 200  # the server decodes the key
    assert httpx.get(url + "/api/telemetry", params={"ticket": ticket, "x": "1"}).status_code == 200
    with httpx.stream("GET", url + "/api/stream", params={"ticket": ticket}) as stream:
        assert stream.status_code == 200
    proc.terminate()
    proc.wait(30)
    log = log_path.read_text()
    assert '"GET /api/me?token=*** HTTP/1.1" 200' in log  # the access log is on and redacted
    assert "/api/telemetry?ticket=***&x=1" in log
    assert secret not in log and secret.removeprefix("tk_") not in log
    assert ticket not in log and ticket.removeprefix("st_") not in log


class VideoWatcher:
    """Reads a live MJPEG feed in a thread (keeping the frames coming) and records when it ends."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.parts = 0
        self.opened = threading.Event()
        self.ended = threading.Event()
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        try:
            with httpx.stream(
                "GET", self.url + "/api/live/drone-1/video.mjpg", params={"token": self.token}, timeout=None
            ) as r:
                self.opened.set()
                for chunk in r.iter_bytes():
                    self.parts += chunk.count(b"\xff\xd8")
        except httpx.HTTPError:
            pass
        finally:
            self.opened.set()
            self.ended.set()


def test_revoking_a_token_ends_its_open_video_streams(live_server, tokens):
    import cv2
    import numpy as np

    ok, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))
    assert ok

    def push() -> None:
        response = httpx.post(
            live_server.url + "/api/live/drone-1/frame",
            content=jpeg.tobytes(),
            headers={**auth(tokens["operator"]), "Content-Type": "image/jpeg"},
        )
        assert response.status_code == 200, response.text

    push()
    viewer, other = (
        VideoWatcher(live_server.url, tokens["viewer"]),
        VideoWatcher(live_server.url, tokens["admin"]),
    )
    assert viewer.opened.wait(30) and other.opened.wait(30)
    me = httpx.get(live_server.url + "/api/me", headers=auth(tokens["viewer"])).json()
    assert (
        httpx.delete(f"{live_server.url}/api/tokens/{me['id']}", headers=auth(tokens["admin"])).status_code
        == 204
    )
    for _ in range(600):  # new frames keep both streams busy until the revoked one ends
        push()
        if viewer.ended.wait(0.1):
            break
    assert viewer.ended.is_set()
    assert not other.ended.is_set() and other.parts > 0  # the admin's stream goes on
