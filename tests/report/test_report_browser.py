"""The report page in a real headless Chromium, opened from file:// with no network.

Needs Debian's chromium (`apt-get install -y chromium`; never `playwright install`): the test fails,
not skips, without it. `TENKEN_CHROMIUM` points at another binary.
Run this file as a script to regenerate docs/img/report-map.png from the same synthetic survey.
"""

from __future__ import annotations

import math
import random
import socket
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tenken.findings import Defect
from tenken.geo import LocalProjection
from tenken.report import write_report
from tests.browser import launch_chromium
from vision.road.coverage import VideoCoverage
from vision.road.grading import MIN_SURVEYED_FRACTION, grade_segments, ground_size_m, severity_of

ORIGIN = (36.0820, 140.1100)  # a town road grid near Tsukuba; the data are synthetic
UNSEEN_M = (1000.0, 1160.0)  # the camera saw nothing here (say, a tunnel)
# Damage bands along the route: (from_m, to_m, defects per 10 m, class weights).
DAMAGE = [
    (0.0, 1400.0, 0.25, {"D00": 4, "D10": 3, "D40": 1, "Repair": 1}),
    (300.0, 400.0, 6.0, {"D20": 8, "D00": 2, "D10": 1, "D40": 2, "Repair": 1}),
    (400.0, 480.0, 4.5, {"D20": 6, "D00": 3, "D10": 2, "D40": 2, "Repair": 1}),
    (760.0, 900.0, 3.0, {"D00": 5, "D10": 4, "D20": 3, "Repair": 2}),
]


def route_xy() -> list[tuple[float, float]]:
    """About 1.4 km: east along a street, a gentle bend north, then north-east."""
    pts = [(float(x), 0.0) for x in range(0, 450, 5)]
    cx, cy, r = 450.0, 150.0, 150.0
    pts += [(cx + r * math.sin(a), cy - r * math.cos(a)) for a in np.linspace(0, math.pi / 2, 40)[1:]]
    x0, y0 = pts[-1]
    pts += [(x0 + 0.35 * d, y0 + d) for d in range(5, 800, 5)]
    return pts


def crop_image(path: Path, cls: str, rng: random.Random) -> None:
    """A small evidence crop: asphalt texture with the damage drawn on it."""
    h, w = 150, 220
    gen = np.random.default_rng(rng.randrange(1 << 30))
    img = np.clip(gen.normal(92, 18, (h, w, 1)), 0, 255).repeat(3, axis=2).astype(np.uint8)
    dark = (38, 38, 40)
    if cls == "D40":
        cv2.ellipse(img, (w // 2, h // 2), (60, 34), rng.uniform(-20, 20), 0, 360, (30, 30, 32), -1)
    elif cls == "D20":
        for _ in range(40):
            x, y = rng.randrange(30, w - 30), rng.randrange(20, h - 20)
            cv2.line(img, (x, y), (x + rng.randrange(-25, 25), y + rng.randrange(-25, 25)), dark, 2)
    elif cls == "Repair":
        cv2.rectangle(img, (40, 30), (w - 40, h - 30), (55, 55, 58), -1)
    else:
        x, y = (w // 2, 5) if cls == "D00" else (5, h // 2)
        for _ in range(25):
            nx = x + (rng.randrange(-6, 7) if cls == "D00" else 9)
            ny = y + (6 if cls == "D00" else rng.randrange(-6, 7))
            cv2.line(img, (x, y), (nx, ny), dark, 2)
            x, y = nx, ny
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 80])


def synthetic_survey(folder: Path, tile_url: str = "", seed: int = 7) -> int:
    """Write a realistic report of a synthetic drive into `folder`; return the number of defects."""
    rng = random.Random(seed)
    frame = LocalProjection(*ORIGIN)
    xy = route_xy()
    route = [frame.to_latlon(x, y) for x, y in xy]
    line = np.array(xy)
    seg_len = np.hypot(*np.diff(line, axis=0).T)
    station = np.concatenate([[0.0], np.cumsum(seg_len)])

    def at(s: float, across: float) -> tuple[float, float, float]:
        i = int(np.clip(np.searchsorted(station, s) - 1, 0, len(seg_len) - 1))
        t = (s - station[i]) / seg_len[i]
        (x0, y0), (x1, y1) = line[i], line[i + 1]
        ux, uy = (x1 - x0) / seg_len[i], (y1 - y0) / seg_len[i]
        return x0 + t * (x1 - x0) - uy * across, y0 + t * (y1 - y0) + ux * across, math.atan2(uy, ux)

    (folder / "crops").mkdir(parents=True, exist_ok=True)
    defects: list[Defect] = []
    for start, end, per_10m, weights in DAMAGE:
        for _ in range(round((end - start) / 10 * per_10m)):
            s = rng.uniform(start, end)
            if UNSEEN_M[0] <= s < UNSEEN_M[1]:
                continue
            cls = rng.choices(list(weights), list(weights.values()))[0]
            length, width = {
                "D00": (rng.uniform(0.5, 7.0), 0.2),
                "D10": (0.2, rng.uniform(0.8, 3.2)),
                "D20": (rng.uniform(0.8, 4.5), rng.uniform(0.8, 3.0)),
                "D40": (rng.uniform(0.1, 0.55), rng.uniform(0.1, 0.5)),
                "Repair": (rng.uniform(0.8, 3.0), rng.uniform(0.8, 2.4)),
            }[cls]
            length, width = length / 2, width / 2
            cx, cy, angle = at(s, rng.uniform(-1.2, 1.2))
            ca, sa = math.cos(angle), math.sin(angle)
            ring = tuple(
                frame.to_latlon(cx + a * ca - b * sa, cy + a * sa + b * ca)
                for a, b in [(-length, -width), (length, -width), (length, width), (-length, width)]
            )
            confidence = rng.uniform(0.3, 0.95)
            n_obs = rng.randint(1, 14)
            first = int(s * 6)
            defect_id = len(defects) + 1
            crop = f"crops/defect_{defect_id:04d}.jpg"
            crop_image(folder / crop, cls, rng)
            lat, lon = frame.to_latlon(cx, cy)
            defects.append(
                Defect(
                    defect_id=defect_id,
                    class_name=cls,
                    severity=severity_of(cls, ground_size_m(ring), confidence),
                    lat=lat,
                    lon=lon,
                    error_m=rng.uniform(1.5, 4.5),
                    first_frame=first,
                    last_frame=first + 3 * n_obs,
                    n_observations=n_obs,
                    confidence=confidence,
                    ground_ring=ring,
                    crop_path=crop,
                )
            )
    seen = [(0.0, UNSEEN_M[0]), (UNSEEN_M[1], float(station[-1]))]
    segments = grade_segments(route, defects, seen)
    write_report(
        folder,
        defects,
        segments,
        route,
        settings_dict={"sample_every_m": 4.0, "camera_height_m": 1.3, "pitch_deg": 12.0, "hfov_deg": 100.0},
        model_info_dict={"name": "tenken-road-yolov8n", "version": "synthetic"},
        timings={"decode": 41.2, "detect": 96.4, "total": 151.0},
        counts={"frames_read": 8400, "frames_sampled": 350, "observations": 1200, "defects": len(defects)},
        tile_url=tile_url,
        title="Synthetic survey, route 1",
    )
    return len(defects)


def launch(playwright):
    return launch_chromium(playwright)


def open_report(browser, folder: Path):
    """Open index.html from file://, recording console errors and every request that leaves the folder."""
    page = browser.new_page(viewport={"width": 1400, "height": 860})
    record = {"errors": [], "remote": [], "failed": []}
    page.on("console", lambda m: record["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record["errors"].append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file://", "data:")) else record["remote"].append(r.url),
    )
    page.on("requestfailed", lambda r: record["failed"].append(r.url))
    page.goto((folder / "index.html").as_uri())
    page.wait_for_function("window.tenkenView !== undefined")
    return page, record


def click_top_marker(page) -> None:
    """Click the marker drawn last (a high-severity one, on top of the others) where it is on screen."""
    x, y = page.evaluate(
        """() => {
            const v = window.tenkenView, m = v.defectMarkers[v.defectMarkers.length - 1];
            v.map.setView(m.getLatLng(), 18, {animate: false});
            const p = v.map.latLngToContainerPoint(m.getLatLng());
            const r = v.map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }"""
    )
    page.mouse.click(x, y)
    page.wait_for_selector(".leaflet-popup-content img")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    return folder, synthetic_survey(folder)


def test_page_opens_from_file_with_no_errors_and_no_network(browser, survey):
    folder, _ = survey
    page, record = open_report(browser, folder)
    assert record["errors"] == []
    assert record["remote"] == []
    assert record["failed"] == []
    page.close()


def test_page_draws_every_defect_segment_and_the_track(browser, survey):
    folder, n_defects = survey
    page, _ = open_report(browser, folder)
    assert n_defects > 50
    assert page.locator("path.tenken-defect").count() == n_defects
    assert page.locator("path.tenken-defect.sev-high").count() > 0
    assert page.locator("path.tenken-segment").count() == 16  # 1528 m of route
    assert page.locator("path.tenken-track").count() == 1
    page.close()


def test_segments_are_coloured_by_category_and_unseen_ones_grey(browser, survey):
    folder, _ = survey
    page, _ = open_report(browser, folder)
    colours = set(
        page.eval_on_selector_all("path.tenken-segment", "els => els.map(e => e.getAttribute('stroke'))")
    )
    assert colours == {"#16a34a", "#f59e0b", "#dc2626", "#9ca3af"}
    page.close()


def test_view_is_fitted_to_the_data_with_a_scale_bar(browser, survey):
    folder, _ = survey
    page, _ = open_report(browser, folder)
    inside = page.evaluate(
        """() => {
            const v = window.tenkenView;
            return v.defectMarkers.every(m => v.map.getBounds().contains(m.getLatLng()));
        }"""
    )
    assert inside
    assert page.locator(".leaflet-control-scale-line").first.is_visible()
    page.close()


def test_clicking_a_defect_shows_its_evidence_crop(browser, survey):
    folder, _ = survey
    page, record = open_report(browser, folder)
    click_top_marker(page)
    popup = page.locator(".leaflet-popup-content")
    assert "severity" in popup.inner_text()
    assert "frames" in popup.inner_text()
    img = popup.locator("img")
    assert img.get_attribute("src").startswith("crops/defect_")
    page.wait_for_function("document.querySelector('.leaflet-popup-content img').complete")
    assert img.evaluate("i => i.naturalWidth") == 220
    assert record["errors"] == []
    page.close()


def test_hiding_a_class_from_the_legend_removes_its_markers(browser, survey):
    folder, n_defects = survey
    page, _ = open_report(browser, folder)
    n_potholes = page.locator("path.tenken-D40").count()
    assert n_potholes > 0
    page.locator('#classes .row[data-class="D40"]').click()
    assert page.locator("path.tenken-D40").count() == 0
    assert page.locator("path.tenken-defect").count() == n_defects - n_potholes
    page.close()


def test_panel_summarises_counts_grades_and_what_is_not_measured(browser, survey):
    folder, n_defects = survey
    page, _ = open_report(browser, folder)
    panel = page.locator("#panel").inner_text()
    assert str(n_defects) in page.locator("#summary").inner_text()
    assert "not surveyed" in panel
    assert "IRI" in panel and "rutting" in panel
    assert "tenken-road-yolov8n" in panel
    page.close()


def test_report_of_nothing_found_still_opens(browser, tmp_path):
    write_report(tmp_path, [], [], [], {}, {"name": "m", "version": "1"}, {}, {}, tile_url="")
    page, record = open_report(browser, tmp_path)
    assert record["errors"] == []
    assert page.locator("path.tenken-defect").count() == 0
    assert "0" in page.locator("#summary").inner_text()
    assert page.locator(".leaflet-control-scale-line").first.is_visible()
    page.close()


def test_a_report_of_part_of_the_video_says_so_above_the_figures(browser, tmp_path):
    cut = VideoCoverage(33.5, 5.0, 201, 30, 41, 6)
    route = [ORIGIN, (ORIGIN[0], ORIGIN[1] + 0.002)]
    segments = grade_segments(route, [], [(0.0, 30.0)], segment_m=100.0)
    assert [s.category for s in segments] == [None, None]  # 30 m seen of the first 100 m
    write_report(
        tmp_path,
        [],
        segments,
        route,
        {"min_surveyed_fraction": MIN_SURVEYED_FRACTION},
        {"name": "m", "version": "1"},
        {},
        {},
        tile_url="",
        coverage=cut.as_dict(),
    )
    page, record = open_report(browser, tmp_path)
    assert record["errors"] == []
    warning = page.locator("#coverage-warning")
    assert warning.is_visible()
    assert "5.0 s of a 33.5 s video" in warning.inner_text()
    assert "seen under 50 % of its length" in page.locator("#grades").inner_text()
    page.close()


def test_a_report_of_the_whole_video_shows_no_coverage_warning(browser, survey):
    folder, _ = survey
    page, _ = open_report(browser, folder)
    assert page.locator("#coverage-warning").count() == 0
    page.close()


def refused_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_tiles_leave_a_usable_map(browser, tmp_path):
    # Tiles that never arrive, without touching any outside network.
    port = refused_port()
    synthetic_survey(tmp_path, tile_url=f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png")
    page, record = open_report(browser, tmp_path)
    page.wait_for_selector("#tile-note", state="visible")
    assert page.locator("path.tenken-defect").count() > 50
    assert page.locator(".leaflet-control-scale-line").first.is_visible()
    assert record["remote"] and all(url.startswith(f"http://127.0.0.1:{port}/") for url in record["remote"])
    assert [e for e in record["errors"] if "ERR_CONNECTION_REFUSED" not in e] == []
    page.close()


def save_screenshot(path: Path) -> None:
    """Render the synthetic survey with one pothole's popup open, for the README."""
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        folder = Path(tmp)
        synthetic_survey(folder)
        b = launch(p)
        page, _ = open_report(b, folder)
        page.evaluate(
            """() => {
                // Frame the worst stretch and its neighbours, and open a pothole's popup there.
                const v = window.tenkenView;
                const ids = [2, 3, 4, 5];
                const near = v.segmentLayer.getLayers().filter(l => ids.includes(l.feature.properties.id));
                const bounds = L.featureGroup(near).getBounds();
                v.map.fitBounds(bounds, {padding: [20, 20], animate: false});
                const inView = v.defectMarkers.filter(m => bounds.contains(m.getLatLng()));
                const m = inView.find(m => /tenken-D40 sev-high/.test(m.options.className)) || inView[0];
                m.openPopup();
            }"""
        )
        page.wait_for_function("document.querySelector('.leaflet-popup-content img')?.complete")
        page.wait_for_timeout(300)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        b.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "docs/img/report-map.png"
    save_screenshot(target)
    print(f"wrote {target}")
