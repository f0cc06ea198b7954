"""Command-post API under a bounded loopback load: findings queries over 100 000 stored findings, and the
delay from a published finding to its arrival on a stream (SSE) client.

    python bench/bench_api.py [--findings 100000] [--queries 40] [--events 200]

It seeds a fresh SQLite store (in a temporary folder) with `--findings` defects spread over a
20 km square in 20 surveys, starts `tenken serve` on a loopback port (the server runs in its own
process, as in use), and then, one request at a time:

- times `GET /api/findings` for a map viewport (bbox of about 1 km), a class + severity filter,
  one survey, and the map's first load (no filter, limit 5000);
- publishes `--events` findings on the live bus at 20 per second (Redis Streams, as a worker
  does) and times each one's arrival on an SSE client connected to `/api/stream`;
- repeats the stream measurement for the embedded path (in-process bus, server in this process).

Reports p50 and p95 in milliseconds. Nothing leaves 127.0.0.1; Redis must run on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenken.events import FINDINGS, EventBus, InProcessBus  # noqa: E402
from tenken.events_redis import RedisStreamBus  # noqa: E402
from tenken.store import defects as defectstore  # noqa: E402
from tenken.store import jobs as jobstore  # noqa: E402
from tenken.store.auth import create_token  # noqa: E402
from tenken.store.db import Store  # noqa: E402
from tests.api.conftest import LiveServer, free_port  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
ORIGIN = (35.60, 140.10)
SPAN_DEG = 0.2  # about 20 km
CLASSES = ("D00", "D10", "D20", "D40", "Repair")
SEVERITIES = ("low", "medium", "high")


def percentiles_ms(samples_s: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_s)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return 1000 * statistics.median(ordered), 1000 * p95


def seed(store: Store, n_findings: int, n_surveys: int = 20) -> list[str]:
    rng = random.Random(1)
    job_ids = []
    per_job = n_findings // n_surveys
    now = time.time()
    with store.session() as s:
        for _j in range(n_surveys):
            job = jobstore.create_video_job(s, "v.mp4", "t.gpx", detector="road", conf=None, options={})
            job.state = jobstore.COMPLETED
            job_ids.append(job.id)
            rows = [
                {
                    "job_id": job.id,
                    "defect_id": i + 1,
                    "class_name": rng.choice(CLASSES),
                    "severity": rng.choice(SEVERITIES),
                    "lat": ORIGIN[0] + rng.random() * SPAN_DEG,
                    "lon": ORIGIN[1] + rng.random() * SPAN_DEG,
                    "error_m": 2.5,
                    "first_frame": i,
                    "last_frame": i + 3,
                    "best_frame": i,
                    "n_observations": 3,
                    "confidence": rng.uniform(0.3, 0.95),
                    "ground_ring": [],
                    "seen_at_s": now - rng.uniform(0, 30 * 86400),
                    "members": [],
                    "crop_jpeg": None,
                }
                for i in range(per_job)
            ]
            s.execute(insert(defectstore.DefectRow), rows)
    return job_ids


def time_queries(url: str, token: str, job_id: str, repeat: int) -> dict[str, tuple[float, float, int]]:
    rng = random.Random(2)
    out = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:

        def viewport() -> dict[str, str]:
            lat, lon = (
                ORIGIN[0] + rng.random() * (SPAN_DEG - 0.01),
                ORIGIN[1] + rng.random() * (SPAN_DEG - 0.01),
            )
            return {"bbox": f"{lon},{lat},{lon + 0.011},{lat + 0.009}"}

        cases = {
            "viewport bbox (~1 km²)": viewport,
            "class D40 + severity high": lambda: {"class": "D40", "severity": "high", "limit": "5000"},
            "one survey (5 000 findings)": lambda: {"job_id": job_id, "limit": "5000"},
            "first map load (limit 5000)": lambda: {"limit": "5000"},
        }
        for name, params in cases.items():
            http.get("/api/findings", params=params())  # warm-up
            samples, sizes = [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                response = http.get("/api/findings", params=params())
                samples.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text
                sizes.append(len(response.json()["features"]))
            out[name] = (*percentiles_ms(samples), round(statistics.mean(sizes)))
    return out


def time_stream(
    url: str, token: str, bus: EventBus, n_events: int, rate_hz: float = 20.0
) -> tuple[float, float]:
    """Publish `n_events` findings carrying their publish time; measure arrival on one SSE client."""
    delays: list[float] = []
    connected = threading.Event()
    done = threading.Event()

    def client() -> None:
        with (
            httpx.Client(base_url=url, timeout=30) as http,
            http.stream("GET", "/api/stream", params={"token": token, "channels": "findings"}) as stream,
        ):
            connected.set()
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    data = json.loads(line[6:])
                    delays.append(time.time() - data["published_at_s"])
                    if len(delays) >= n_events:
                        done.set()
                        return

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    connected.wait(10)
    time.sleep(0.5)  # the stream has fixed its starting point once the first bytes arrive
    for i in range(n_events):
        bus.publish(
            FINDINGS,
            {
                "kind": "defect",
                "id": i,
                "lat": ORIGIN[0],
                "lon": ORIGIN[1],
                "class_name": "D40",
                "severity": "high",
                "published_at_s": time.time(),
            },
        )
        time.sleep(1 / rate_hz)
    done.wait(30)
    if len(delays) < n_events:
        raise RuntimeError(f"only {len(delays)} of {n_events} events arrived")
    return percentiles_ms(delays)


def serve(data_dir: Path, prefix: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "TENKEN_DATA_DIR": str(data_dir),
        "TENKEN_TILE_URL": "",
        "TENKEN_BROKER_URL": REDIS_URL,
        "TENKEN_QUEUE_PREFIX": prefix,
    }
    tenken = Path(sys.executable).parent / "tenken"
    process = subprocess.Popen([str(tenken), "serve", "--port", str(port), "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/api/config", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("tenken serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40, help="requests per query kind")
    parser.add_argument("--events", type=int, default=200, help="findings published per stream measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        store = Store(f"sqlite:///{data_dir / 'tenken.sqlite3'}")
        t0 = time.perf_counter()
        job_ids = seed(store, args.findings)
        with store.session() as s:
            token = create_token(s, "viewer", "bench")[0]
        print(
            f"seeded {args.findings} findings in {time.perf_counter() - t0:.1f} s "
            f"(SQLite, {len(job_ids)} surveys)"
        )

        prefix = f"tenken-bench-{uuid.uuid4().hex[:8]}"
        process, url = serve(data_dir, prefix)
        bus = RedisStreamBus(REDIS_URL, key=f"{prefix}:events")
        try:
            print(
                f"\nGET /api/findings, {args.queries} requests each, one at a time"
                "   p50 ms   p95 ms   features"
            )
            for name, (p50, p95, size) in time_queries(url, token, job_ids[0], args.queries).items():
                print(f"  {name:<36}{p50:>20.1f} {p95:>8.1f} {size:>10}")
            p50, p95 = time_stream(url, token, bus, args.events)
            print(f"\npublished finding -> SSE client, {args.events} events at 20/s     p50 ms   p95 ms")
            print(f"  {'Redis Streams bus (tenken serve)':<36}{p50:>20.1f} {p95:>8.1f}")
        finally:
            process.terminate()
            process.wait(timeout=10)
            bus._redis.delete(f"{prefix}:events")

        from api.services import Services
        from tenken.settings import load_settings

        settings = load_settings(data_dir=data_dir, tile_url="")
        local_bus = InProcessBus()
        services = Services(settings=settings, store=store, bus=local_bus)
        with LiveServer(settings, services) as server:
            p50, p95 = time_stream(server.url, token, local_bus, args.events)
        print(f"  {'in-process bus (embedded, 1 process)':<36}{p50:>20.1f} {p95:>8.1f}")
        store.dispose()


if __name__ == "__main__":
    main()
