"""What a worker says about its inference device: checked before it starts, answered to `inspect`.

`tenken status` (or `celery -A worker.app inspect tenken_device` from a process that imported this
module) asks every worker; each replies with the device, backend and provider it runs its road
detector on, and those of the detectors it has loaded so far. The device is checked once, when
the worker starts (it then refuses to start without it), so a reply is immediate. Once it is
ready, the worker writes that device to a file for its container healthcheck
(`worker.healthcheck`, which reads it instead of importing torch every time).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from celery.signals import worker_init, worker_ready, worker_shutdown
from celery.worker.control import inspect_command

from tenken.errors import TenkenError
from tenken.settings import Settings, get_settings
from vision.models.detector import describe_inference
from vision.models.device import inference_plan, resolve_device
from vision.models.runtime import RuntimeOptions
from worker.healthcheck import remove_health_file, write_health_file

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _machine_report(runtime: RuntimeOptions, spec: str) -> tuple[tuple[str, str], ...]:
    # Importing torch to ask NVML takes seconds: once per process.
    choice = resolve_device(runtime.device)
    report = {"device": choice.device, "description": choice.description}
    if choice.reason:
        report["cpu_because"] = choice.reason
    if ":" not in spec:
        from worker.detectors import describe_detector

        plan = inference_plan(describe_detector(spec, runtime)[2], choice.device)
        report.update(backend=plan.backend, provider=plan.provider)
    return tuple(report.items())


def device_report(settings: Settings) -> dict[str, Any]:
    """Device, backend and provider of this machine; raises `DeviceError` when the device is missing."""
    runtime = RuntimeOptions.from_settings(settings)
    report: dict[str, Any] = dict(_machine_report(runtime, settings.road_detector))
    choice_device = report["device"]
    from worker.detectors import loaded_detectors

    report["loaded"] = {s: describe_inference(d, choice_device) for s, d in loaded_detectors().items()}
    return report


def device_line(report: dict[str, Any]) -> str:
    """One line for humans: 'device cuda (CUDA 13.0, 1 GPU(s)), backend torch, provider torch CUDA fp16'."""
    line = f"device {report['device']} ({report['description']})"
    if "backend" in report:
        line += f", backend {report['backend']}, provider {report['provider']}"
    if report.get("cpu_because"):
        line += f"; CPU because there is {report['cpu_because']}"
    return line


@worker_init.connect
def _check_device_at_start(**_: Any) -> None:
    """`celery ... worker` started directly checks the device as `tenken worker` does, and stops."""
    try:
        log.info("tenken worker: %s", device_line(device_report(get_settings())))
    except TenkenError as exc:
        raise SystemExit(f"error: {exc}") from None


@worker_ready.connect
def _write_health_file(sender: Any = None, **_: Any) -> None:
    settings = get_settings()
    report = dict(_machine_report(RuntimeOptions.from_settings(settings), settings.road_detector))
    path = write_health_file(sender.hostname, report)
    log.info("tenken worker: device written to %s for the healthcheck", path)


@worker_shutdown.connect
def _remove_health_file(sender: Any = None, **_: Any) -> None:
    remove_health_file(sender.hostname)


@inspect_command(name="tenken_device")
def tenken_device(state: Any) -> dict[str, Any]:
    return device_report(get_settings())
