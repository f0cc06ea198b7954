"""A minimal MJPEG viewer on a raw socket, so a test can read at the speed of a thin link."""

from __future__ import annotations

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
    received_at: list[float] = field(default_factory=list)
    status_line: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            if self.delay_s:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            request = f"GET {self.path} HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {self.token}\r\n\r\n"
            sock.sendall(request.encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = sock.recv(4096)
                if not data:
                    return
                buf += data
            head, _, rest = buf.partition(b"\r\n\r\n")
            self.status_line = head.split(b"\r\n")[0].decode()
            parser = MjpegParser()
            pending = rest
            while not self.stop.is_set():
                if pending:
                    # HTTP/1.0: the body comes without chunked framing, as bytes until the server closes
                    for headers, _jpeg in parser.feed(pending):
                        self.frame_times.append(float(headers.get("x-frame-time", "nan")))
                        self.received_at.append(time.time())
                try:
                    pending = sock.recv(self.chunk_bytes)
                except TimeoutError:
                    pending = b""
                    continue
                if not pending:
                    return
                if self.delay_s:
                    time.sleep(self.delay_s)
