"""End to end: simulator + `tenken fly survey` + simulated camera + capture + live pipeline + API stream.

The detector is a colour stand-in that finds the simulator's painted fire and landslide patches: this
test is about the chain (flight, poses, georeferencing, confirmation, publishing), not model accuracy.
"""

from __future__ import annotations

import json
import queue
import threading

import httpx
import pytest

from api.services import Services
from drone.capture import FrameCapture, PosedFrame
from drone.live_frames import live_frame
from drone.sim.camera import CameraServer
from drone.sim.mavlink_server import SimServer
from drone.sim.vehicle import SimConfig, SimVehicle
from drone.sim.world import PlantedPatch, SyntheticWorld
from drone.telemetry import TelemetryBridge
from tenken.cli import main
from tenken.events import InProcessBus
from tenken.geo import distance_m, offset_latlon
from tenken.settings import load_settings
from tenken.store.auth import create_token
from tenken.store.db import Store
from tests.drone.painted_patches import PaintedPatchDetector
from vision.live import LivePipeline

from ..api.conftest import LiveServer, RecordingExecutor
from .conftest import HOME, square_ring, wait_until, write_area

HFOV_DEG = 73.7
SPEEDUP = 6.0  # frame-to-pose error grows with it: a frame 50 ms late is 3 m off at 10 m/s x 6
# Planted incidents: each must become one incident, placed within its stated error (ce).
FIRE = PlantedPatch("fire", *offset_latlon(*HOME, 25.0, 18.0), 5.0)
LANDSLIDE = PlantedPatch("landslide", *offset_latlon(*HOME, -22.0, -20.0), 7.0)


class StreamReader:
    """Reads the API's server-sent events in a thread."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[tuple[str, dict]] = []
        self._stop = threading.Event()
        self._url, self._token = url, token
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=30.0))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        params = {"channels": "incidents,telemetry"}
        try:
            with self._client.stream(
                "GET", f"{self._url}/api/stream", headers=headers, params=params
            ) as response:
                event = ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        self.events.append((event, json.loads(line.split(":", 1)[1])))
        except (httpx.RemoteProtocolError, httpx.ReadError):
            return  # the server stopped: the end of an endless stream

    def of(self, channel: str) -> list[dict]:
        return [data for event, data in list(self.events) if event == channel]

    def start(self) -> StreamReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Call after the server has stopped: that is what ends the endless stream."""
        self._stop.set()
        self._thread.join(timeout=10.0)
        self._client.close()


def _landed_on_stream(stream: StreamReader) -> bool:
    recent = stream.of("telemetry")[-4:]
    return any(s["armed"] is False and s["alt_m"] is not None and s["alt_m"] < 0.5 for s in recent)


@pytest.fixture
def command_post(tmp_path):
    """The API's settings, services (in-process bus, SQLite store) and a token of each role."""
    settings = load_settings(data_dir=tmp_path / "data", tile_url="")
    store = Store(settings.effective_database_url)
    services = Services(settings=settings, store=store, bus=InProcessBus(), executor=RecordingExecutor(store))
    with store.session() as s:
        tokens = {role: create_token(s, role, f"test {role}")[0] for role in ("viewer", "operator")}
    yield settings, services, tokens
    store.dispose()


@pytest.mark.slow
def test_survey_over_planted_fire_and_landslide_raises_placed_incidents_on_the_api_stream(
    command_post, tmp_path, capsys
):
    settings, services, tokens = command_post
    world = SyntheticWorld(*HOME, [FIRE, LANDSLIDE], size_m=300.0)
    config = SimConfig(home_lat=HOME[0], home_lon=HOME[1], gps_lock_after_s=1.0, climb_mps=3.0, land_mps=1.5)
    sim = SimServer(SimVehicle(config), port=0, speedup=SPEEDUP, stream_hz=20.0).start()
    frames: queue.Queue[PosedFrame] = queue.Queue(maxsize=500)
    pipeline = LivePipeline(
        "drone-1", PaintedPatchDetector(("fire", "landslide")), publish=services.bus.publish
    )
    stop = threading.Event()

    def run_pipeline() -> None:
        while not (stop.is_set() and frames.empty()):
            try:
                frame = frames.get(timeout=0.1)
            except queue.Empty:
                continue
            pipeline.process([live_frame(frame, source="drone-1", hfov_deg=HFOV_DEG)])

    worker = threading.Thread(target=run_pipeline, daemon=True)
    area = write_area(tmp_path / "area.geojson", square_ring(HOME, 35.0))
    from drone.link import VehicleLink

    try:
        with LiveServer(settings, services) as api:
            stream = StreamReader(api.url, tokens["viewer"]).start()
            telemetry_link = VehicleLink.connect(f"tcp:127.0.0.1:{sim.port}", timeout_s=20)
            with (
                CameraServer(world, sim.vehicle.pose, port=0, fps=20.0, hfov_deg=HFOV_DEG) as camera,
                TelemetryBridge(telemetry_link.snapshot, lambda _: None, sample_hz=20) as bridge,
                FrameCapture(camera.url, bridge.history, frames) as capture,
            ):
                worker.start()
                rc = main(["fly", "survey", "--area", str(area), "--altitude-m", "30", "--speed-mps", "10",
                           "--side-overlap", "0.5", "--connect", f"tcp:127.0.0.1:{sim.port}",
                           "--telemetry-url", api.url, "--telemetry-token", tokens["operator"]])  # fmt: skip
                assert wait_until(lambda: not sim.vehicle.armed, 10.0)
                assert wait_until(lambda: _landed_on_stream(stream), 10.0)
                stop.set()
                worker.join(timeout=30.0)
                assert wait_until(lambda: len(stream.of("incidents")) >= 2, 10.0)
            telemetry_link.close()
        stream.stop()
    finally:
        stop.set()
        sim.stop()

    out = capsys.readouterr().out
    assert rc == 0, out
    assert sim.vehicle.landed and not sim.vehicle.armed
    assert capture.frames_delivered > 50 and capture.frames_without_pose < capture.frames_delivered / 10

    # The drone's track is on the stream: it left home, covered the area and came back.
    track = [s for s in stream.of("telemetry") if s["lat"] is not None]
    assert len(track) >= 20
    farthest = max(distance_m(*HOME, s["lat"], s["lon"]) for s in track)
    assert 30.0 < farthest < 70.0
    assert all(s["footprint"] is not None for s in track if s["alt_m"] > 5)

    # Each planted incident is one stored incident (what the map and TAK show), where it was planted.
    incidents = [i for i in stream.of("incidents") if "key" in i]
    errors, ces = {}, {}
    for patch in (FIRE, LANDSLIDE):
        opened = [i for i in incidents if i["kind"] == patch.kind and i["state"] == "open"]
        assert opened, f"no open {patch.kind} incident in {incidents}"
        latest = {i["key"]: i for i in opened}
        assert len(latest) == 1, f"one {patch.kind} patch became {len(latest)} incidents: {latest}"
        final = next(iter(latest.values()))
        errors[patch.kind] = distance_m(patch.lat, patch.lon, final["lat"], final["lon"])
        ces[patch.kind] = final["error_m"]
        assert errors[patch.kind] <= final["error_m"], (patch.kind, errors, final["error_m"])
    with capsys.disabled():
        placed = ", ".join(f"{k} {v:.1f} (ce {ces[k]:.1f})" for k, v in errors.items())
        print(f"\nplaced incident error (m): {placed}; "
              f"frames {capture.frames_delivered}, telemetry {len(track)}")  # fmt: skip
