"""The command-post map page and its local assets (no CDN: Leaflet and markercluster ship with Tenken)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.deps import ServicesDep
from api.schemas import MapConfig
from tenken import __version__
from tenken.report.page import STATIC_DIR as REPORT_STATIC_DIR
from tenken.report.writer import check_tile_url, default_attribution

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["map"])
# The page itself is public (it holds no data); everything it loads from /api needs a token.
router.mount("/static/leaflet", StaticFiles(directory=REPORT_STATIC_DIR / "leaflet"), name="leaflet")
router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/map")


# No script-src/connect-src policy: it would forbid the string evaluation that browser automation
# (and so the page's tests) relies on; the page builds no HTML from unescaped data instead.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/map", include_in_schema=False)
def map_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


@router.get("/docs", include_in_schema=False)
def api_reference() -> HTMLResponse:
    """The interactive OpenAPI reference, from vendored Swagger UI (FastAPI's default uses a CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Tenken command post API",
        swagger_js_url="/static/swagger/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger/swagger-ui.css",
        swagger_favicon_url="data:,",
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )


@router.get("/api/config", response_model=MapConfig, tags=["map"], summary="Map settings (public)")
def config(services: ServicesDep) -> MapConfig:
    url = check_tile_url(services.settings.tile_url)
    return MapConfig(tile_url=url, tile_attribution=default_attribution(url), version=__version__)
