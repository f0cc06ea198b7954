"""`tenken submit`, `tenken status` and `tenken worker` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.workers.conftest import DETECTOR, REPO, Cluster

TENKEN = [sys.executable, "-m", "tenken.cli"]


def run(args, env, timeout=120):
    return subprocess.run(
        [*TENKEN, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def embedded_env(tmp_path):
    env = dict(os.environ)
    for key in ("TENKEN_BROKER_URL", "TENKEN_DATABASE_URL", "TENKEN_CONFIG"):
        env.pop(key, None)
    env.update(TENKEN_DATA_DIR=str(tmp_path / "data"), TENKEN_TILE_URL="", PYTHONPATH=str(REPO))
    return env


def test_submit_without_a_broker_runs_the_job_here_and_status_reports_it(tmp_path, drive):
    video, gpx = drive
    env = embedded_env(tmp_path)
    done = run(["submit", str(video), "--track", str(gpx), "--model", DETECTOR, "--every-m", "2", "-q"], env)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.splitlines()[0]
    assert "completed" in done.stdout and "defects" in done.stdout
    status = run(["status", job_id, "--json"], env)
    info = json.loads(status.stdout)
    assert info["state"] == "completed" and info["defects"] == 5 and info["errors"] == []


def test_status_of_an_unknown_job_is_one_error_line(tmp_path):
    result = run(["status", "no-such-job"], embedded_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no job with id 'no-such-job'"


def test_tenken_worker_serves_the_queues_of_its_settings(cluster: Cluster, drive):
    video, gpx = drive
    log = open(cluster.tmp / "cli-worker.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [*TENKEN, "worker", "--queues", "inference,ingest", "--name", "cli"],
        cwd=REPO,
        env=cluster.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    cluster.workers.append(proc)
    submitted = run(
        ["submit", str(video), "--track", str(gpx), "--model", DETECTOR, "--every-m", "2", "-q"], cluster.env
    )
    assert submitted.returncode == 0, submitted.stderr + cluster.log("cli-worker")
    assert "completed" in submitted.stdout
    assert "tenken.run_chunk" in cluster.log("cli-worker")


def test_status_shows_the_device_backend_and_provider_of_each_worker(cluster: Cluster):
    cluster.start_worker("dev")
    result = run(["status"], cluster.env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("this machine: device ")
    mine = [line for line in lines if line.startswith(f"worker dev-{cluster.prefix}@")]
    assert len(mine) == 1, result.stdout
    assert "backend " in mine[0] and "provider " in mine[0]


def test_a_worker_asked_for_cuda_on_a_machine_without_it_refuses_to_start(cluster: Cluster):
    from vision.models.device import cuda_problem

    if cuda_problem() is None:
        pytest.skip("this machine has a usable CUDA GPU")
    result = run(
        ["worker", "--queues", "inference", "--name", "nogpu"], {**cluster.env, "TENKEN_DEVICE": "cuda"}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: TENKEN_DEVICE=cuda but there is no CUDA device")
