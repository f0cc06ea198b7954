"""TENKEN_DEVICE: cuda runs on the GPU or stops with one line; auto says what it picked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenken.errors import DeviceError
from vision.models.device import cuda_problem, inference_plan, resolve_device

REPO = Path(__file__).resolve().parents[2]
needs_no_cuda = pytest.mark.skipif(cuda_problem() is None, reason="this machine has a usable CUDA GPU")


def tenken(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TENKEN_")}
    environ.update(PYTHONPATH=str(REPO), TENKEN_DATA_DIR=env.pop("data_dir"), **env)
    return subprocess.run(
        [sys.executable, "-m", "tenken.cli", *args], cwd=REPO, env=environ, capture_output=True, text=True
    )


@needs_no_cuda
def test_analyze_with_device_cuda_on_a_machine_without_cuda_stops_with_one_line(tmp_path):
    out = tmp_path / "report"
    result = tenken(
        [
            "analyze",
            "samples/drive.mp4",
            "--track",
            "samples/drive.gpx",
            "--camera",
            "motorbike",
            "--out",
            str(out),
        ],
        TENKEN_DEVICE="cuda",
        data_dir=str(tmp_path),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: TENKEN_DEVICE=cuda but there is no CUDA")
    assert not out.exists()


@needs_no_cuda
def test_gpu_healthcheck_fails_without_a_gpu(tmp_path):
    result = tenken(["status", "--local"], TENKEN_DEVICE="cuda", data_dir=str(tmp_path))
    assert result.returncode == 2 and "no CUDA" in result.stderr


@needs_no_cuda
def test_status_says_which_device_backend_and_provider_auto_picked_and_why(tmp_path):
    result = tenken(["status"], TENKEN_DEVICE="auto", data_dir=str(tmp_path))
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("this machine: device cpu") and "backend openvino, provider OpenVINO CPU" in line
    assert "CPU because there is no CUDA" in line


@needs_no_cuda
def test_resolve_cuda_raises_and_auto_falls_to_cpu_with_a_reason():
    with pytest.raises(DeviceError, match="TENKEN_DEVICE=cuda but there is no CUDA"):
        resolve_device("cuda")
    auto = resolve_device("auto")
    assert auto.device == "cpu" and auto.reason


def test_cpu_is_cpu_whatever_the_machine_has():
    choice = resolve_device("cpu")
    assert choice.device == "cpu" and not choice.reason


def test_inference_plan_per_format_and_device():
    assert inference_plan("onnx", "cuda").backend == "torch"
    assert inference_plan("onnx", "cpu").provider == "CPUExecutionProvider"
    assert inference_plan("openvino", "cpu").backend == "openvino"
    with pytest.raises(DeviceError, match="OpenVINO weights run on the CPU only"):
        inference_plan("openvino", "cuda")
