"""The simulated gimbal camera: renders the synthetic world from the vehicle pose, served as HTTP MJPEG.

Rendering uses the same flat-ground pinhole model (`tenken.geo.CameraModel`) that georeferencing uses,
so a patch planted at (lat, lon) is seen exactly where the georeferencing code will look for it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import cv2
import numpy as np

from drone.sim.vehicle import SimPose
from drone.sim.world import SyntheticWorld
from tenken.geo import CameraModel, rotate_to_east_north
from tenken.settings import DRONE_CAMERA_HFOV_DEG
from vision.live.pose import below_horizon_deg

log = logging.getLogger(__name__)

SKY_BGR = (235, 206, 170)
BOUNDARY = "tenkenframe"
MIN_HEIGHT_M = 0.5  # on the ground the camera still sits on the landing gear
SEND_BUFFER_BYTES = 64 * 1024


def camera_for(pose: SimPose, *, width_px: int, height_px: int, hfov_deg: float) -> CameraModel:
    """The flat-ground camera for a pose: gimbal -90 (MAVLink, straight down) is 90° below the horizon."""
    return CameraModel(
        height_m=max(pose.alt_m, MIN_HEIGHT_M),
        pitch_deg=below_horizon_deg(pose.gimbal_pitch_deg),
        hfov_deg=hfov_deg,
        width_px=width_px,
        height_px=height_px,
    )


def render_view(world: SyntheticWorld, pose: SimPose, *, width_px: int = 640, height_px: int = 360,
                hfov_deg: float = DRONE_CAMERA_HFOV_DEG) -> np.ndarray:  # fmt: skip
    """The BGR image the gimbal camera sees at `pose`: ground below the horizon, sky above."""
    cam = camera_for(pose, width_px=width_px, height_px=height_px, hfov_deg=hfov_deg)
    frame = np.empty((height_px, width_px, 3), dtype=np.uint8)
    frame[:] = SKY_BGR
    horizon = cam.horizon_row()
    top = max(0.0, horizon + 0.02 * height_px) if np.isfinite(horizon) else 0.0
    if top >= height_px - 1:
        return frame
    # Below the horizon the pixel -> ground mapping is a homography: fit it on four pixels.
    east0, north0 = world.proj.to_xy(pose.lat, pose.lon)
    img_pts, tex_pts = [], []
    for u, v in (
        (0.0, top),
        (float(width_px), top),
        (float(width_px), float(height_px)),
        (0.0, float(height_px)),
    ):
        offset = cam.ground_offset(u, v)
        if offset is None:
            return frame
        east, north = rotate_to_east_north(offset[0], offset[1], pose.heading_deg)
        img_pts.append((u, v))
        tex_pts.append(world.xy_to_px(east0 + east, north0 + north))
    img_to_tex = cv2.getPerspectiveTransform(np.array(img_pts, np.float32), np.array(tex_pts, np.float32))
    ground = cv2.warpPerspective(
        world.texture, img_to_tex, (width_px, height_px),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
        borderValue=(70, 110, 80),
    )  # fmt: skip
    first = int(np.ceil(top))
    frame[first:] = ground[first:]
    return frame


class CameraServer:
    """Serve rendered frames: `/stream.mjpg` (multipart MJPEG at `fps`) and `/frame.jpg` (one frame)."""

    def __init__(
        self,
        world: SyntheticWorld,
        pose_source: Callable[[], SimPose],
        *,
        host: str = "127.0.0.1",
        port: int = 8554,
        fps: float = 10.0,
        width_px: int = 640,
        height_px: int = 360,
        hfov_deg: float = DRONE_CAMERA_HFOV_DEG,
        jpeg_quality: int = 85,
    ) -> None:
        self.world = world
        self.pose_source = pose_source
        self.host, self.port, self.fps = host, port, fps
        self.width_px, self.height_px, self.hfov_deg = width_px, height_px, hfov_deg
        self.jpeg_quality = jpeg_quality
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.frames_served = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/stream.mjpg"

    def render_jpeg(self) -> bytes:
        frame = render_view(self.world, self.pose_source(), width_px=self.width_px, height_px=self.height_px,
                            hfov_deg=self.hfov_deg)  # fmt: skip
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()

    def start(self) -> CameraServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                log.debug("camera http: " + format, *args)

            def do_GET(self) -> None:
                if self.path.startswith("/frame.jpg"):
                    body = server.render_jpeg()
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path.startswith("/stream.mjpg"):
                    self._stream()
                else:
                    self.send_error(404, "try /stream.mjpg or /frame.jpg")

            def _stream(self) -> None:
                # A small send buffer: a slow reader then gets fresh frames late rather than stale ones
                # (a big kernel buffer would hold a second of old frames, poses and all).
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                period = 1.0 / server.fps
                next_at = time.monotonic()
                try:
                    while not server._stopping.is_set():
                        body = server.render_jpeg()
                        head = (
                            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n"
                        )
                        self.wfile.write(head.encode() + body + b"\r\n")
                        server.frames_served += 1
                        next_at += period
                        time.sleep(max(0.0, next_at - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError):
                    return

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="tenken-sim-camera", daemon=True
        )
        self._thread.start()
        log.info("simulated camera on %s", self.url)
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> CameraServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
