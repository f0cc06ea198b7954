"""The GPU worker's container healthcheck: cheap (no torch), and failing without the worker or its GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.workers.conftest import REPO, Cluster, wait_until
from worker.healthcheck import check, gpu_count, health_file, write_health_file


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch):
    """Health files in this test's own temporary folder (they live in $TMPDIR)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    yield tmp_path
    tempfile.tempdir = None


def run_check(nodename: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys, worker.healthcheck as h; rc = h.main([sys.argv[1]]); "
        "assert 'torch' not in sys.modules and 'celery' not in sys.modules; sys.exit(rc)"
    )
    return subprocess.run(
        [sys.executable, "-c", code, nodename], cwd=REPO, env=env, capture_output=True, text=True, timeout=30
    )


def test_a_worker_that_never_started_is_unhealthy(tmpdir_env):
    path = tmpdir_env / "tenken-worker-gpu@box.json"
    assert check("gpu@box") == f"worker gpu@box has not started (no {path})"


def test_a_worker_whose_process_is_gone_is_unhealthy(tmpdir_env):
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    health_file("gpu@box").write_text(json.dumps({"pid": int(done.stdout), "device": "cpu"}))
    assert check("gpu@box") == f"worker gpu@box: its process {int(done.stdout)} is gone"


def test_a_cuda_worker_without_the_nvidia_driver_is_unhealthy(tmpdir_env):
    write_health_file("gpu@box", {"device": "cuda", "description": "CUDA 12.8, 1 GPU(s)"})
    problem = check("gpu@box", nvml_library="libnvidia-ml-not-here.so.1")
    assert problem is not None
    assert problem.startswith("worker gpu@box runs on cuda but there is no NVIDIA driver library")


def test_a_cpu_worker_that_is_running_is_healthy(tmpdir_env):
    write_health_file("cpu@box", {"device": "cpu", "description": "2 CPU cores"})
    assert check("cpu@box") is None


def test_the_check_answers_in_one_line_without_importing_torch_or_celery(tmpdir_env):
    env = {**os.environ, "TMPDIR": str(tmpdir_env), "PYTHONPATH": str(REPO)}
    missing = run_check("gpu@nowhere", env)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("unhealthy: worker gpu@nowhere has not started")


def test_this_machines_gpus_are_counted_as_torch_counts_them():
    from vision.models.device import cuda_problem

    try:
        nvml_gpus = gpu_count()
    except OSError:
        nvml_gpus = 0
    if cuda_problem() is None:
        import torch

        assert nvml_gpus == torch.cuda.device_count()
    else:
        assert nvml_gpus == 0 or "torch" in (cuda_problem() or "")  # no GPU, or a GPU without CUDA torch


def test_a_running_worker_writes_its_device_and_removes_it_when_it_stops(cluster: Cluster):
    env = cluster.env  # TMPDIR: the test's folder
    proc = cluster.start_worker("hc")
    [written] = list(cluster.tmp.glob(f"tenken-worker-hc-{cluster.prefix}@*.json"))
    nodename = written.name.removeprefix("tenken-worker-").removesuffix(".json")
    report = json.loads(written.read_text())
    assert report["pid"] == proc.pid and report["device"] == "cpu" and "provider" in report
    healthy = run_check(nodename, env)
    assert healthy.returncode == 0, healthy.stderr
    proc.terminate()  # a warm shutdown: the worker takes its file away
    proc.wait(30)
    wait_until(lambda: not written.exists(), 10, "the health file to go")
    assert run_check(nodename, env).returncode == 1
