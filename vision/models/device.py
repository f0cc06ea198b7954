"""Which device and runtime inference uses: `TENKEN_DEVICE` resolved once, never a silent fallback.

`cuda` runs the torch backend (`tenken[gpu]`) on the GPU or raises `DeviceError` naming what is
missing; `cpu` runs OpenVINO or ONNX Runtime on the CPU; `auto` takes the GPU when it is usable
and logs what it picked and why.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache

from tenken.errors import DeviceError

log = logging.getLogger(__name__)

GPU_EXTRA_HINT = "pip install 'tenken[gpu]'"


@dataclass(frozen=True)
class DeviceChoice:
    """The device inference runs on, and what it is (GPU model, CPU cores)."""

    device: str  # "cuda" or "cpu"
    description: str
    reason: str = ""  # why `auto` chose the CPU


@dataclass(frozen=True)
class InferencePlan:
    """How one weights file runs here: device, backend and its provider, for logs and health replies."""

    device: str
    backend: str  # "torch", "onnxruntime", "openvino" or "ultralytics"
    provider: str

    def line(self) -> str:
        return f"device {self.device}, backend {self.backend}, provider {self.provider}"


@lru_cache(maxsize=1)
def cuda_problem() -> str | None:
    """What keeps this machine from running inference on CUDA, or None when nothing does.

    Asks NVML rather than the CUDA driver where torch can, so a prefork worker's parent does not
    initialise CUDA before it forks.
    """
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    try:
        import torch
    except ImportError:
        return f"no CUDA-capable runtime installed (torch is missing: {GPU_EXTRA_HINT})"
    if not torch.version.cuda:
        build = f"torch {torch.__version__} is a CPU-only build"
        return f"no CUDA-capable runtime installed ({build}: {GPU_EXTRA_HINT})"
    try:
        import onnx  # noqa: F401  # the torch backend reads the ONNX weights with it
    except ImportError:
        return f"no CUDA-capable runtime installed (the 'onnx' package is missing: {GPU_EXTRA_HINT})"
    if not torch.cuda.is_available():
        return (
            f"no CUDA device (torch {torch.__version__} built for CUDA {torch.version.cuda} sees no GPU: "
            "check the NVIDIA driver, CUDA_VISIBLE_DEVICES, and that the container was given the GPU)"
        )
    return None


def resolve_device(requested: str) -> DeviceChoice:
    """The device for the `device` setting (auto, cpu or cuda); `cuda` without a usable GPU raises."""
    if requested not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"unknown device {requested!r} (expected auto, cpu or cuda)")
    if requested != "cpu":
        problem = cuda_problem()
        if problem is None:
            import torch

            return DeviceChoice("cuda", f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s)")
        if requested == "cuda":
            raise DeviceError(f"TENKEN_DEVICE=cuda but there is {problem}")
        return DeviceChoice("cpu", f"{os.cpu_count()} CPU cores", reason=problem)
    return DeviceChoice("cpu", f"{os.cpu_count()} CPU cores")


def inference_plan(weights_format: str, device: str) -> InferencePlan:
    """Backend and provider for weights of `weights_format` ('onnx', 'openvino', 'pt') on `device`."""
    if device == "cuda":
        if weights_format == "openvino":
            raise DeviceError("OpenVINO weights run on the CPU only; use the .onnx weights on cuda")
        if weights_format == "pt":
            return InferencePlan("cuda", "ultralytics", "torch CUDA")
        return InferencePlan("cuda", "torch", "torch CUDA fp16")
    if weights_format == "openvino":
        return InferencePlan("cpu", "openvino", "OpenVINO CPU")
    if weights_format == "pt":
        return InferencePlan("cpu", "ultralytics", "torch CPU")
    return InferencePlan("cpu", "onnxruntime", "CPUExecutionProvider")
