"""MAVProxy driven through its console (stdin/stdout), as an engineer types into it."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

MAVPROXY_VERSION = "1.8.75"  # scripts/test.sh installs exactly this one


def mavproxy_path() -> Path:
    """The MAVProxy that scripts/test.sh installed ($TENKEN_MAVPROXY overrides); fails, never skips."""
    override = os.environ.get("TENKEN_MAVPROXY")
    if override:
        path = Path(override)
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        path = cache / "tenken" / f"mavproxy-{MAVPROXY_VERSION}" / "bin" / "mavproxy.py"
    if not path.exists():
        raise AssertionError(
            f"MAVProxy {MAVPROXY_VERSION} not found at {path}: run scripts/test.sh once (it installs it "
            "into its own venv), or set TENKEN_MAVPROXY to a mavproxy.py"
        )
    return path


class MavproxyConsole:
    """A MAVProxy process connected to `master`; `send` types a command, `expect` waits for output."""

    def __init__(self, master: str, workdir: Path) -> None:
        self.lines: list[str] = []
        self._seen = 0
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [str(mavproxy_path()), "--master", master, "--no-state"],
            cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern: str, timeout_s: float = 30.0) -> re.Match[str]:
        """The first line after the previous match that matches `pattern` (a regex)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                lines = self.lines[self._seen :]
                start = self._seen
            for offset, line in enumerate(lines):
                match = regex.search(line)
                if match:
                    self._seen = start + offset + 1
                    return match
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"MAVProxy never printed /{pattern}/; it printed:\n{self.output}")
            time.sleep(0.05)

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()  # end of input: MAVProxy exits
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
