"""What a worker says about its inference device: checked before it starts, answered to `inspect`.

`celery -A worker.app inspect tenken_device` (or `tenken status`) asks every worker; each replies
with the device, backend and provider it runs its road detector on, and those of the detectors
it has loaded so far.
"""

from __future__ import annotations

from typing import Any

from celery.worker.control import inspect_command

from tenken.settings import Settings, get_settings
from vision.detector import describe_inference, weights_format
from vision.device import inference_plan, resolve_device


def device_report(settings: Settings) -> dict[str, Any]:
    """Device, backend and provider of this machine; raises `DeviceError` when the device is missing."""
    choice = resolve_device(settings.device)
    report: dict[str, Any] = {"device": choice.device, "description": choice.description}
    if choice.reason:
        report["cpu_because"] = choice.reason
    spec = settings.road_detector
    if ":" not in spec:
        from vision.registry import get_model

        plan = inference_plan(weights_format(get_model(spec).weights_path()), choice.device)
        report.update(backend=plan.backend, provider=plan.provider)
    from worker.detectors import get_detector, loaded_specs

    report["loaded"] = {
        s: describe_inference(get_detector(s).detector, choice.device) for s in loaded_specs()
    }
    return report


def device_line(report: dict[str, Any]) -> str:
    """One line for humans: 'device cuda (CUDA 13.0, 1 GPU(s)), backend torch, provider torch CUDA fp16'."""
    line = f"device {report['device']} ({report['description']})"
    if "backend" in report:
        line += f", backend {report['backend']}, provider {report['provider']}"
    if report.get("cpu_because"):
        line += f"; CPU because there is {report['cpu_because']}"
    return line


@inspect_command(name="tenken_device")
def tenken_device(state: Any) -> dict[str, Any]:
    return device_report(get_settings())
