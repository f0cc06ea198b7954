"""The FastAPI application: routers by resource, error handlers, CORS, and the services it runs on."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from api.access_log import redact_access_log
from api.incident_recorder import IncidentRecorder
from api.live_source import LiveSource, LiveSourceSpec
from api.routers import exports, findings, incidents, jobs, live, network, page, reviews, tokens
from api.services import Services, build_services
from api.sse import LiveHub, stored_valid_token_ids
from api.video import router as video_router
from tenken import __version__
from tenken.errors import ConfigError, JobError, NetworkError, TenkenError, TrackError, VideoError
from tenken.report.writer import check_tile_url
from tenken.settings import Settings

log = logging.getLogger(__name__)

_STATUS_OF_ERROR: dict[type[TenkenError], int] = {
    TrackError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    VideoError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    JobError: status.HTTP_409_CONFLICT,
    ConfigError: status.HTTP_400_BAD_REQUEST,
    NetworkError: status.HTTP_409_CONFLICT,
}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error.get("loc", ())]
        kind = loc[0] if loc and loc[0] in ("query", "path", "header", "body") else ""
        name = ".".join(p for p in loc[1 if kind else 0 :] if not p.isdigit())
        where = f"{kind} parameter {name!r}" if kind in ("query", "path", "header") else (name or "body")
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: Any = exc.errors()
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={
            "detail": _validation_message(exc),
            "errors": [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in errors],
        },
    )


async def _on_tenken_error(_request: Request, exc: Exception) -> JSONResponse:
    code = next(
        (c for cls, c in _STATUS_OF_ERROR.items() if isinstance(exc, cls)), status.HTTP_400_BAD_REQUEST
    )
    return JSONResponse(status_code=code, content={"detail": str(exc)})


def create_app(
    settings: Settings, services: Services | None = None, live_sources: Sequence[LiveSourceSpec] = ()
) -> FastAPI:
    """The command-post app. Pass `services` to run on a given store/bus/executor (tests, benches),
    and `live_sources` for drone feeds the command post runs itself (`tenken serve --live`)."""
    check_tile_url(settings.tile_url)  # a bad template fails `tenken serve` at once, not the page later
    redact_access_log()  # browsers put `?token=`/`?ticket=` in URLs; the access log must not keep them

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        running: Services = services or build_services(settings)
        app.state.services = running
        if running.cot is not None:
            running.cot.start(running.bus)
        if running.recorder is None:
            running.recorder = IncidentRecorder(
                running.store, running.bus, update_interval_s=settings.incident_update_interval_s
            )
            running.recorder.start()
        if running.hub is None:
            running.hub = LiveHub(running.bus, token_check=partial(stored_valid_token_ids, running.store))
            running.hub.start()
        feeds = app.state.live_feeds = [LiveSource(app, spec).start() for spec in live_sources]
        try:
            yield
        finally:
            for feed in feeds:
                feed.stop()
            if owned:
                running.close()
            else:
                running.hub.close()
                running.hub = None
                running.recorder.close()
                running.recorder = None
                if running.cot is not None:
                    running.cot.close()

    app = FastAPI(
        title="Tenken command post",
        version=__version__,
        description=(
            "Road-survey findings, drone incidents and live telemetry. Every route needs an API token "
            "(`Authorization: Bearer ...`; on GET for EventSource a short-lived `?ticket=` from "
            "POST /api/stream-tickets, for images `?token=`; both are masked in the access log). "
            "Roles: viewer reads, operator uploads and controls jobs and posts telemetry, "
            "admin manages tokens."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by api.routers.page from local assets, so it works offline
        redoc_url=None,
    )
    if services is not None:
        app.state.services = services
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(TenkenError, _on_tenken_error)
    for module in (tokens, jobs, findings, reviews, exports, incidents, live, network, page):
        app.include_router(module.router)
    app.include_router(video_router)  # live video, replay and quick-look (api/video.py)
    return app
