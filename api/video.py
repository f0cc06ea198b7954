"""Live video routes: MJPEG feeds of each drone, replay of recorded flights, and the quick-look map.

MJPEG over HTTP (`multipart/x-mixed-replace`) works in an `<img>` tag, through proxies, and on thin
links (satellite, VSAT, a phone hotspot); the frame rate, size and JPEG quality are settings. Every
route needs a viewer token (`?token=` works for `<img>` tags); pushing frames needs an operator token.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

import cv2
from fastapi import APIRouter, Body, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from api.deps import Operator, Viewer
from api.query_params import MAX_INT64, unix_time
from api.video_feed import FrameHub, LiveVideoFeed, ViewerStats
from tenken.errors import DataError
from tenken.events import INCIDENTS, EventBus
from tenken.settings import Settings
from vision.live.quicklook import LABEL as QUICKLOOK_LABEL
from vision.live.quicklook import OverlayBounds, QuickLook, quicklook_from_recording
from vision.live.recording import FlightRecorder, RecordingReader, check_source_name, recorded_sources

BOUNDARY = "tenkenframe"
RATE_TOLERANCE = 0.75  # jitter allowance of the frame-rate cap
KEEPALIVE_S = 5.0  # with no new frame this long, the last one is sent again (keeps the link open)

router = APIRouter(prefix="/api", tags=["live video"])


class LiveVideo:
    """The live feeds of one app: a hub per source, created when its producer first pushes a frame."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.recordings_dir = settings.recording_dir or settings.data_dir / "recordings"
        self.feeds: dict[str, LiveVideoFeed] = {}
        self.viewers: dict[str, list[ViewerStats]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._follower: threading.Thread | None = None
        # quick-looks rebuilt from recordings: source -> (frames recorded, map, overlay)
        self._rebuilt: dict[str, tuple[int, QuickLook, tuple[Any, OverlayBounds, int]]] = {}

    def feed(self, source: str, *, record: bool = True, quicklook: bool = True) -> LiveVideoFeed:
        """The feed of `source`, created with the settings' size, quality and recording on first use."""
        check_source_name(source)
        with self._lock:
            feed = self.feeds.get(source)
            if feed is None:
                s = self.settings
                recorder = (
                    FlightRecorder(
                        self.recordings_dir,
                        source,
                        segment_s=s.recording_segment_s,
                        retention_s=s.recording_retention_s,
                        max_bytes=s.recording_max_bytes,
                    )
                    if record
                    else None
                )
                feed = LiveVideoFeed(
                    source,
                    FrameHub(),
                    width_px=s.live_video_width_px,
                    jpeg_quality=s.live_video_jpeg_quality,
                    recorder=recorder,
                    quicklook=QuickLook() if quicklook else None,
                )
                self.feeds[source] = feed
            return feed

    def live_counts(self) -> dict[str, tuple[int, int]]:
        """Per live source: frames published and viewers watching."""
        with self._lock:
            return {n: (f.hub.published, len(self.viewers.get(n, []))) for n, f in self.feeds.items()}

    def add_viewer(self, source: str) -> ViewerStats:
        stats = ViewerStats()
        with self._lock:
            self.viewers.setdefault(source, []).append(stats)
        return stats

    def remove_viewer(self, source: str, stats: ViewerStats) -> None:
        with self._lock:
            self.viewers.get(source, []).remove(stats)

    def hub(self, source: str) -> FrameHub | None:
        with self._lock:
            feed = self.feeds.get(check_source_name(source))
            return feed.hub if feed is not None else None

    def follow_incidents(self, bus: EventBus) -> None:
        """Record the bus's incident changes on the timeline of the source they came from (a thread)."""
        if self._follower is not None:
            return

        start = bus.last_id()  # fixed now, so nothing published while the thread starts is missed

        def run() -> None:
            last = start
            while not self._stopping.is_set():
                for event in bus.read([INCIDENTS], last, timeout_s=1.0):
                    last = event.event_id
                    self.record_incident(event.data)

        self._follower = threading.Thread(target=run, name="tenken-video-timeline", daemon=True)
        self._follower.start()

    def record_incident(self, data: dict[str, Any]) -> bool:
        """Put one incident change on its source's replay timeline; False if that source has no video."""
        with self._lock:
            feed = self.feeds.get(str(data.get("source", "")))
        if feed is None:
            return False
        t = data.get("last_seen_s") or data.get("timestamp_s") or time.time()
        feed.record_finding(float(t), data)
        return True

    def recorded_quicklook(self, source: str) -> tuple[QuickLook, tuple[Any, OverlayBounds, int]] | None:
        """The quick-look rebuilt from the source's recording (kept until more frames are recorded);
        None when no recorded frame has a pose."""
        reader = self.reader(source)
        count = reader.frame_count()
        with self._lock:
            cached = self._rebuilt.get(source)
        if cached is None or cached[0] != count:
            look = quicklook_from_recording(reader)
            if look.frames_painted == 0:
                return None
            rgba, bounds = look.web_mercator()
            cached = (count, look, (rgba, bounds, look.frames_painted))
            with self._lock:
                self._rebuilt[source] = cached
        return cached[1], cached[2]

    def reader(self, source: str) -> RecordingReader:
        return RecordingReader(self.recordings_dir, source)

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            for feed in self.feeds.values():
                feed.close()


_STATE_LOCK = threading.Lock()


def live_video_of(app: FastAPI) -> LiveVideo:
    """The app's `LiveVideo` (made on first use from the app's settings): producers in the same process
    push frames with `live_video_of(app).feed("drone-1").push(frame, ...)`."""
    with _STATE_LOCK:
        video: LiveVideo | None = getattr(app.state, "live_video", None)
        if video is None:
            video = LiveVideo(app.state.services.settings)
            video.follow_incidents(app.state.services.bus)
            app.state.live_video = video
        return video


def _video(request: Request) -> LiveVideo:
    return live_video_of(request.app)


def _source(source: str) -> str:
    try:
        return check_source_name(source)
    except DataError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None


def _jpeg_response(jpeg: bytes, headers: dict[str, str]) -> Response:
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store", **headers})


class LiveSource(BaseModel):
    source: str
    live: bool
    frames_published: int
    viewers: int
    recorded: bool


class Segment(BaseModel):
    segment_id: str
    start_s: float
    end_s: float
    frames: int
    findings: int
    bytes: int


class QuickLookInfo(BaseModel):
    source: str
    label: str
    frames: int
    bounds: list[list[float]]  # Leaflet [[south, west], [north, east]]
    image_url: str
    geotiff_url: str


@router.get("/live/sources", response_model=list[LiveSource], summary="Live and recorded video sources")
def sources(request: Request, _viewer: Viewer) -> list[LiveSource]:
    video = _video(request)
    recorded = set(recorded_sources(video.recordings_dir))
    live = video.live_counts()
    names = sorted(set(live) | recorded)
    return [
        LiveSource(
            source=n,
            live=n in live,
            frames_published=live.get(n, (0, 0))[0],
            viewers=live.get(n, (0, 0))[1],
            recorded=n in recorded,
        )
        for n in names
    ]


async def mjpeg_stream(
    hub: FrameHub,
    stats: ViewerStats,
    period_s: float,
    request: Request,
    *,
    early_headers: bool = False,
    still_allowed: Callable[[], bool] | None = None,
) -> AsyncIterator[bytes]:
    """Multipart JPEG parts, each the newest frame when this viewer is ready for one, at most 1/period_s.

    The rate cap decimates (a frame published sooner than ~period_s after the last one sent is
    skipped) rather than delays: waiting for a time slot would add up to a period of latency.
    Each part ends with the next part's boundary line. Browsers show a part only once the next part's
    headers have arrived: with `early_headers` those are sent right after each JPEG (so they cannot
    carry its Content-Length), which saves a browser a whole frame period of delay.
    `still_allowed` is asked before each part: when it turns False (the viewer's token was revoked
    or expired) the stream ends, as the event stream does.
    """
    early = "Content-Type: image/jpeg\r\n\r\n" if early_headers else ""
    yield f"--{BOUNDARY}\r\n{early}".encode()
    last_published_s = -math.inf
    while not await request.is_disconnected():
        if still_allowed is not None and not still_allowed():
            return
        frame = await hub.next_newer(stats.last_seq, KEEPALIVE_S)
        if frame is None:
            frame = hub.latest()  # nothing new for a while: repeat the last frame to keep the link open
            if frame is None:
                continue
        else:
            if frame.published_s - last_published_s < RATE_TOLERANCE * period_s:
                stats.last_seq = frame.seq  # too soon for this viewer's rate: skip it
                stats.skipped += 1
                continue
            stats.took(frame)
            last_published_s = frame.published_s
        head = (
            ""
            if early_headers
            else f"Content-Type: image/jpeg\r\nContent-Length: {len(frame.jpeg)}\r\n"
            f"X-Frame-Time: {frame.timestamp_s:.3f}\r\n\r\n"
        )
        # The send returns once the bytes are in the socket buffer; a slow link makes this viewer
        # wait here, and the frames published meanwhile are simply never sent to it.
        yield head.encode() + frame.jpeg + f"\r\n--{BOUNDARY}\r\n{early}".encode()


@router.get(
    "/live/{source}/video.mjpg",
    summary="Live MJPEG feed with detections, incidents and telemetry drawn on it",
    response_class=StreamingResponse,
    responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
)
async def live_video(
    source: str,
    request: Request,
    viewer: Viewer,
    fps: Annotated[float | None, Query(gt=0, le=60, description="Lower frame rate for this viewer.")] = None,
    browser: Annotated[
        bool,
        Query(
            description="Send each part's headers early (no Content-Length): a browser then shows each "
            "frame on arrival instead of one frame late. Off for players that need Content-Length."
        ),
    ] = False,
) -> StreamingResponse:
    """An endless MJPEG stream for an `<img>` tag. A viewer that cannot keep up gets fewer frames,
    never older ones, and never slows the detection or the other viewers."""
    video = _video(request)
    hub = video.hub(_source(source))
    if hub is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no live video from {source!r} (is the drone streaming?)"
        )
    max_fps = video.settings.live_video_fps
    stats = video.add_viewer(source)
    live_hub = request.app.state.services.hub

    async def body() -> AsyncIterator[bytes]:
        # The live hub checks the tokens of all open streams in one query; this subscription to no
        # channel only asks it to watch this viewer's token.
        loop = asyncio.get_running_loop()
        watch = live_hub.subscribe((), loop, viewer.token_id)[0] if live_hub is not None else None
        try:
            async for part in mjpeg_stream(
                hub,
                stats,
                1.0 / min(fps or max_fps, max_fps),
                request,
                early_headers=browser,
                still_allowed=None if watch is None else lambda: not watch.revoked,
            ):
                yield part
        finally:
            video.remove_viewer(source, stats)
            if watch is not None:
                live_hub.unsubscribe(watch)

    return StreamingResponse(
        body(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/live/{source}/frame.jpg", summary="The newest live frame", response_class=Response)
def live_frame(source: str, request: Request, _viewer: Viewer) -> Response:
    hub = _video(request).hub(_source(source))
    frame = hub.latest() if hub is not None else None
    if frame is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no live frame from {source!r} yet")
    return _jpeg_response(frame.jpeg, {"X-Frame-Time": f"{frame.timestamp_s:.3f}"})


@router.post("/live/{source}/frame", summary="Push one annotated JPEG frame (a remote producer)")
def push_frame(
    source: str,
    request: Request,
    _operator: Operator,
    jpeg: Annotated[bytes, Body(media_type="image/jpeg")],
    timestamp_s: Annotated[float | None, unix_time("When the camera took it (UNIX s).")] = None,
) -> dict[str, int]:
    """For a producer in another process: the frame is published as sent (already drawn on) and recorded."""
    if not jpeg.startswith(b"\xff\xd8"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "the body must be one JPEG image")
    feed = _video(request).feed(_source(source), quicklook=False)
    frame = feed.publish_jpeg(jpeg, timestamp_s if timestamp_s is not None else time.time())
    return {"seq": frame.seq}


# ---- replay ----------------------------------------------------------------------------------------


@router.get(
    "/replay/{source}/segments", response_model=list[Segment], summary="Recorded segments, oldest first"
)
def segments(source: str, request: Request, _viewer: Viewer) -> list[Segment]:
    reader = _video(request).reader(_source(source))
    return [Segment(**s.summary()) for s in reader.segments()]


@router.get("/replay/{source}/frame.jpg", summary="The recorded frame at a time, or by frame id")
def replay_frame(
    source: str,
    request: Request,
    _viewer: Viewer,
    t: Annotated[float | None, unix_time("UNIX time (s): the frame shown then.")] = None,
    frame_id: Annotated[
        int | None, Query(ge=0, le=MAX_INT64, description="A frame id (an incident's best_frame_id).")
    ] = None,
) -> Response:
    if (t is None) == (frame_id is None):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "give exactly one of t= (UNIX seconds) or frame_id=")
    reader = _video(request).reader(_source(source))
    frame = reader.frame_at(t) if t is not None else reader.frame_by_id(frame_id or 0)
    if frame is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recorded frame of {source!r} there")
    return _jpeg_response(
        frame.jpeg,
        {
            "X-Frame-Time": f"{frame.timestamp_s:.3f}",
            "X-Frame-Id": str(frame.frame_id),
            "X-Segment": frame.segment_id,
        },
    )


@router.get("/replay/{source}/findings", summary="Findings and incident changes on the replay timeline")
def timeline(
    source: str,
    request: Request,
    _viewer: Viewer,
    start: Annotated[float | None, unix_time("From this UNIX time (s).")] = None,
    end: Annotated[float | None, unix_time("Until this UNIX time (s).")] = None,
) -> list[dict[str, Any]]:
    return _video(request).reader(_source(source)).findings(start, end)


# ---- quick-look map --------------------------------------------------------------------------------


def _overlay(request: Request, source: str) -> tuple[Any, OverlayBounds, int]:
    """The live feed's quick-look, or else the one rebuilt from the recording (after a restart)."""
    video = _video(request)
    feed = video.feeds.get(_source(source))
    overlay = feed.quicklook_overlay() if feed is not None else None
    if overlay is None:
        rebuilt = video.recorded_quicklook(source)
        overlay = rebuilt[1] if rebuilt is not None else None
    if overlay is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no quick-look map of {source!r} yet (no frames with a pose)"
        )
    return overlay


@router.get(
    "/quicklook/{source}", response_model=QuickLookInfo, summary="Quick-look map of the flight (bounds)"
)
def quicklook_info(source: str, request: Request, _viewer: Viewer) -> QuickLookInfo:
    _, bounds, frames = _overlay(request, source)
    return QuickLookInfo(
        source=source,
        label=QUICKLOOK_LABEL,
        frames=frames,
        bounds=bounds.leaflet(),
        image_url=f"/api/quicklook/{source}/image.png",
        geotiff_url=f"/api/quicklook/{source}/map.tif",
    )


@router.get("/quicklook/{source}/image.png", summary="Quick-look map as a transparent PNG (Web Mercator)")
def quicklook_png(source: str, request: Request, _viewer: Viewer) -> Response:
    rgba, bounds, _ = _overlay(request, source)
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "PNG encoding failed")
    return Response(
        png.tobytes(),
        media_type="image/png",
        headers={
            "Cache-Control": "no-store",
            "X-Bounds": ",".join(f"{v:.7f}" for p in bounds.leaflet() for v in p),
        },
    )


@router.get("/quicklook/{source}/map.tif", summary="Quick-look map as a GeoTIFF (UTM; opens in QGIS)")
def quicklook_geotiff(source: str, request: Request, _viewer: Viewer) -> Response:
    video = _video(request)
    feed = video.feeds.get(_source(source))
    out = Path(video.recordings_dir) / source / "quicklook.tif"
    out.parent.mkdir(parents=True, exist_ok=True)
    if feed is None or not feed.write_quicklook(out):
        rebuilt = video.recorded_quicklook(source)
        if rebuilt is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no quick-look map of {source!r} yet (no frames with a pose)"
            )
        rebuilt[0].write_geotiff(out)
    return Response(
        out.read_bytes(),
        media_type="image/tiff",
        headers={"Content-Disposition": f'attachment; filename="{source}-quicklook.tif"'},
    )
