"""A worker's container healthcheck that costs milliseconds: the worker writes its device once, when
it starts; the check reads that and, for a GPU worker, asks the NVIDIA driver whether a GPU is still
there. Standard library only (no torch, no Celery), so running it every 30 s costs nothing.

    python -m worker.healthcheck gpu@$HOSTNAME     # exit 0 healthy; else one line and exit 1

Unhealthy when the worker has not written its file (not started, or it refused to start), when the
process that wrote it is gone, or when it runs on `cuda` and NVML (libnvidia-ml, which the NVIDIA
container toolkit mounts) cannot be loaded or counts no GPU: a lost driver, a container without it.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

NVML_LIBRARY = "libnvidia-ml.so.1"


def health_file(nodename: str) -> Path:
    """Where the worker `nodename` (`name@host`) keeps its device report: this machine's temporary
    folder, not a shared volume, so workers on other machines never read each other's."""
    safe = re.sub(r"[^A-Za-z0-9@._-]", "_", nodename)
    return Path(tempfile.gettempdir()) / f"tenken-worker-{safe}.json"


def write_health_file(nodename: str, report: dict[str, Any]) -> Path:
    """Record this process as the worker `nodename` running on `report`'s device (at start)."""
    path = health_file(nodename)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), **report}))
    tmp.replace(path)
    return path


def remove_health_file(nodename: str) -> None:
    """At a clean shutdown: only the file this process wrote."""
    path = health_file(nodename)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def gpu_count(library: str = NVML_LIBRARY) -> int:
    """GPUs the NVIDIA driver reports, through NVML; raises OSError naming what failed."""
    try:
        nvml = ctypes.CDLL(library)
    except OSError as exc:
        raise OSError(f"no NVIDIA driver library ({library}: {exc})") from None
    code = nvml.nvmlInit_v2()
    if code != 0:
        raise OSError(f"the NVIDIA driver did not start (nvmlInit error {code})")
    try:
        count = ctypes.c_uint(0)
        code = nvml.nvmlDeviceGetCount_v2(ctypes.byref(count))
        if code != 0:
            raise OSError(f"the NVIDIA driver cannot count its GPUs (nvmlDeviceGetCount error {code})")
        return int(count.value)
    finally:
        nvml.nvmlShutdown()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    return True


def check(nodename: str, nvml_library: str = NVML_LIBRARY) -> str | None:
    """What makes the worker `nodename` unhealthy, or None when nothing does."""
    path = health_file(nodename)
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        return f"worker {nodename} has not started (no {path})"
    except (OSError, ValueError) as exc:
        return f"worker {nodename}: unreadable {path} ({exc})"
    pid = report.get("pid")
    if not isinstance(pid, int) or pid <= 0 or not _alive(pid):  # pid 0 would ask this process group
        return f"worker {nodename}: its process {pid} is gone"
    if report.get("device") == "cuda":
        try:
            gpus = gpu_count(nvml_library)
        except OSError as exc:
            return f"worker {nodename} runs on cuda but there is {exc}"
        if gpus < 1:
            return f"worker {nodename} runs on cuda but the NVIDIA driver reports no GPU"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m worker.healthcheck NAME@HOST", file=sys.stderr)
        return 2
    problem = check(args[0])
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
