"""The change map in a real headless Chromium, opened from file:// with no network."""

from __future__ import annotations

from collections import Counter

import pytest

from tenken.network.compare import compare_surveys
from tenken.network.compare_output import write_comparison
from tenken.network.history import load_snapshot
from tenken.store import network as netstore
from tenken.store.db import Store
from tests.browser import launch_chromium
from tests.network_drives import DRIVE_A, DRIVE_B, EXPECTED, network_routes, store_drive
from vision.road.network_jobs import locate_all_surveys


@pytest.fixture(scope="module")
def page_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("changes")
    store = Store(f"sqlite:///{folder / 'store.sqlite3'}")
    ids = store_drive(store, DRIVE_A), store_drive(store, DRIVE_B)
    with store.session() as s:
        netstore.replace_network(s, network_routes())
        locate_all_surveys(s)
        comparison = compare_surveys(load_snapshot(s, ids[0]), load_snapshot(s, ids[1]))
    store.dispose()
    out = folder / "out"
    out.mkdir()
    write_comparison(out, comparison, gpkg=False)
    return out


def test_the_change_page_colours_every_defect_by_its_fate_and_draws_every_unit(page_folder):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        errors: list[str] = []
        remote: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: remote.append(r.url) if not r.url.startswith("file://") else None)
        page.goto((page_folder / "index.html").as_uri())
        page.wait_for_selector("path.change-new")
        counts = {status: page.locator(f"path.change-{status}").count() for status in set(EXPECTED.values())}
        legend = {
            status: page.locator(f'#statuses [data-status="{status}"] .count').inner_text()
            for status in ("new", "not_seen_again", "repaired")
        }
        units = page.locator("path.leaflet-interactive:not([class*='change-'])").count()
        browser.close()
    assert errors == [] and remote == []
    assert counts == dict(Counter(EXPECTED.values()))
    assert legend == {"new": "2", "not_seen_again": "2", "repaired": "0"}
    assert units == 5


def test_the_served_change_page_fetches_through_the_api_client_with_the_saved_token(tmp_path):
    from playwright.sync_api import sync_playwright

    from api.services import Services
    from tenken.events import InProcessBus
    from tenken.settings import load_settings
    from tenken.store.auth import create_token
    from tests.api.conftest import LiveServer, RecordingExecutor

    settings = load_settings(data_dir=tmp_path / "data", tile_url="")
    store = Store(settings.effective_database_url)
    ids = store_drive(store, DRIVE_A), store_drive(store, DRIVE_B)
    with store.session() as s:
        netstore.replace_network(s, network_routes())
        viewer = create_token(s, "viewer")[0]
    services = Services(settings=settings, store=store, bus=InProcessBus(), executor=RecordingExecutor(store))
    with LiveServer(settings, services) as server, sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context()
        context.add_init_script(f"localStorage.setItem('tenken.token', {viewer!r})")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server.url}/compare/?then={ids[0][:8]}&now={ids[1][:8]}")
        page.wait_for_selector("path.change-new")
        new = page.locator("path.change-new").count()
        refused = context.new_page()  # a token given in the URL is used, and not kept
        refused.goto(f"{server.url}/compare/?then={ids[0][:8]}&now={ids[1][:8]}&token=tk_wrong")
        refused.wait_for_function("document.getElementById('error').textContent !== ''")
        message = refused.locator("#error").inner_text()
        kept = refused.evaluate("localStorage.getItem('tenken.token')")
        browser.close()
    store.dispose()
    assert errors == []
    assert new == Counter(EXPECTED.values())["new"]
    assert "token was refused" in message and kept == viewer
