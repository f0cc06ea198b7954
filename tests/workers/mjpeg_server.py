"""A tiny HTTP MJPEG server (multipart/x-mixed-replace), the way IP cameras and drone links serve video."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOUNDARY = "tenkenframe"


def serve_mjpeg(frames_jpeg: Sequence[bytes], fps: float) -> tuple[ThreadingHTTPServer, str]:
    """Start serving `frames_jpeg` once at `fps` on a free loopback port; returns (server, URL)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            try:
                for jpeg in frames_jpeg:
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                    self.wfile.write(head.encode())
                    self.wfile.write(jpeg + b"\r\n")
                    self.wfile.flush()
                    time.sleep(1.0 / fps)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
