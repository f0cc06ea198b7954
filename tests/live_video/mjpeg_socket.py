"""A minimal MJPEG viewer over http.client, that can read at the speed of a thin link."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass, field

from api.video_feed import MjpegParser


@dataclass
class SocketViewer:
    """Reads `path` from the server; `chunk_bytes` per `delay_s` makes it a throttled (slow) viewer."""

    port: int
    path: str
    token: str
    chunk_bytes: int = 65536
    delay_s: float = 0.0
    frame_times: list[float] = field(default_factory=list)
    last_jpeg: bytes = b""
    status: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    _sock: socket.socket | None = None

    def close(self) -> None:
        """Stop reading now, even while waiting for data."""
        self.stop.set()
        if self._sock is not None:
            self._sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.connect()
        assert conn.sock is not None
        self._sock = conn.sock
        if self.delay_s:  # a small receive window, so the server feels the slow reader at once
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.request("GET", self.path, headers={"Authorization": f"Bearer {self.token}"})
        response = conn.getresponse()
        self.status = response.status
        parser = MjpegParser()
        try:
            while not self.stop.is_set():
                try:
                    data = response.read1(self.chunk_bytes)  # de-chunks the HTTP/1.1 body
                except (OSError, http.client.HTTPException):
                    return  # closed by close()
                if not data:
                    return
                for headers, jpeg in parser.feed(data):
                    self.frame_times.append(float(headers.get("x-frame-time", "nan")))
                    self.last_jpeg = jpeg
                if self.delay_s:
                    time.sleep(self.delay_s)
        finally:
            conn.close()
