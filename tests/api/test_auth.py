"""Tokens and roles: viewer reads, operator writes, admin manages tokens; nothing without a token."""

from __future__ import annotations

import pytest

from tenken.cli import main as tenken_main
from tests.api.conftest import auth


def test_a_request_without_a_token_is_401_and_says_how_to_get_one(client):
    response = client.get("/api/findings")
    assert response.status_code == 401
    assert "tenken token create" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_bad_token_is_401(client, tokens):
    response = client.get("/api/findings", headers=auth("tk_not-a-real-token"))
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API token"


def test_me_names_the_tokens_role(client, tokens):
    assert client.get("/api/me", headers=auth(tokens["operator"])).json()["role"] == "operator"


def test_a_viewer_cannot_upload(client, tokens):
    response = client.post(
        "/api/jobs",
        headers=auth(tokens["viewer"]),
        files={"video": ("a.mp4", b"x"), "track": ("a.gpx", b"x")},
    )
    assert response.status_code == 403
    assert "operator" in response.json()["detail"]


def test_a_viewer_cannot_post_telemetry_or_incidents(client, tokens):
    telemetry = client.post("/api/telemetry", headers=auth(tokens["viewer"]), json={"timestamp_s": 1.0})
    incident = client.post(
        "/api/incidents/1/close", headers=auth(tokens["viewer"]), json={"timestamp_s": 1.0}
    )
    assert (telemetry.status_code, incident.status_code) == (403, 403)


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_an_admin_manages_tokens(client, tokens, role):
    assert client.get("/api/tokens", headers=auth(tokens[role])).status_code == 403
    assert client.post("/api/tokens", headers=auth(tokens[role]), json={"role": "admin"}).status_code == 403


def test_an_admin_creates_a_token_that_works_and_revokes_it(client, tokens):
    created = client.post(
        "/api/tokens", headers=auth(tokens["admin"]), json={"role": "viewer", "name": "wall screen"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("tk_") and body["role"] == "viewer"
    assert client.get("/api/me", headers=auth(body["token"])).json()["name"] == "wall screen"

    listed = client.get("/api/tokens", headers=auth(tokens["admin"])).json()
    assert all("token" not in t for t in listed)  # secrets are never listed
    assert client.delete(f"/api/tokens/{body['id']}", headers=auth(tokens["admin"])).status_code == 204
    assert client.get("/api/me", headers=auth(body["token"])).status_code == 401


def test_revoking_an_unknown_token_is_404(client, tokens):
    assert client.delete("/api/tokens/999", headers=auth(tokens["admin"])).status_code == 404


def test_an_unknown_role_is_422(client, tokens):
    response = client.post("/api/tokens", headers=auth(tokens["admin"]), json={"role": "root"})
    assert response.status_code == 422
    assert "role" in response.json()["detail"]


def test_the_query_token_is_accepted_on_get_only(client, tokens):
    assert client.get(f"/api/me?token={tokens['operator']}").status_code == 200
    posted = client.post(f"/api/telemetry?token={tokens['operator']}", json={"timestamp_s": 1.0})
    assert posted.status_code == 401


def test_tokens_are_stored_hashed(services, tokens):
    from sqlalchemy import select

    from tenken.store.auth import ApiToken

    with services.store.session() as s:
        stored = set(s.scalars(select(ApiToken.token_hash)))
    assert stored.isdisjoint(tokens.values())
    assert len(stored) == 3


def test_token_create_on_the_command_line_prints_a_working_admin_token(settings, client, capsys, monkeypatch):
    monkeypatch.setenv("TENKEN_DATA_DIR", str(settings.data_dir))
    from tenken.settings import get_settings

    get_settings.cache_clear()
    try:
        assert tenken_main(["token", "create", "--role", "admin", "--name", "bootstrap"]) == 0
    finally:
        get_settings.cache_clear()
    secret = capsys.readouterr().out.strip()
    assert client.get("/api/tokens", headers=auth(secret)).status_code == 200


def test_token_create_with_an_unknown_role_fails_with_one_line(settings, capsys, monkeypatch):
    monkeypatch.setenv("TENKEN_DATA_DIR", str(settings.data_dir))
    from tenken.settings import get_settings

    get_settings.cache_clear()
    try:
        assert tenken_main(["token", "create", "--role", "root"]) == 2
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().err.strip() == "error: unknown role 'root'; use one of viewer, operator, admin"


def test_cors_allows_only_the_configured_origins(settings, services):
    from fastapi.testclient import TestClient

    from api.app import create_app

    allowed = settings.model_copy(update={"cors_origins": ["https://post.example"]})
    with TestClient(create_app(allowed, services)) as c:
        ok = c.options(
            "/api/me", headers={"Origin": "https://post.example", "Access-Control-Request-Method": "GET"}
        )
        other = c.options(
            "/api/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
    assert ok.headers.get("access-control-allow-origin") == "https://post.example"
    assert "access-control-allow-origin" not in other.headers


def test_the_openapi_schema_lists_every_resource(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/jobs",
        "/api/findings",
        "/api/defects/{defect_id}/crop",
        "/api/segments",
        "/api/incidents",
        "/api/stream",
        "/api/telemetry",
        "/api/surveys/{job_id}/export.{fmt}",
        "/api/tokens",
    ):
        assert path in paths


def test_the_map_page_is_public_holds_no_data_and_cannot_be_framed(client):
    page = client.get("/map")
    assert page.status_code == 200 and "tenken" in page.text.lower()
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/", follow_redirects=False).headers["location"] == "/map"
    assert client.get("/api/config").json()["tile_url"] == ""


def test_a_bad_tile_url_stops_the_app_from_being_built(settings, services):
    from api.app import create_app
    from tenken.errors import ConfigError

    with pytest.raises(ConfigError, match=r"must contain \{z\}, \{x\} and \{y\}"):
        create_app(settings.model_copy(update={"tile_url": "http://tiles.example/map.png"}), services)
