"""The offline map page: index.html, its data as a script (file:// forbids fetch) and vendored assets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_DIR = "assets"
PAGE_FILES = ("index.html",)
ASSET_FILES = ("report.js", "report.css")


def page_script(data: Any) -> str:
    """`data.js`: the report data as a script, since a page opened from file:// may not fetch() JSON.

    ASCII-only JSON is valid JavaScript, including U+2028/U+2029 which raw JSON may hold and old
    JavaScript may not.
    """
    return "window.TENKEN_REPORT = " + json.dumps(data, ensure_ascii=True, default=str) + ";\n"


def write_page(folder: Path, data: Any) -> None:
    """Write index.html, data.js and the page's assets (Leaflet, script, style) into `folder`."""
    assets = folder / ASSETS_DIR
    shutil.copytree(STATIC_DIR / "leaflet", assets / "leaflet", dirs_exist_ok=True)
    for name in ASSET_FILES:
        shutil.copyfile(STATIC_DIR / name, assets / name)
    for name in PAGE_FILES:
        shutil.copyfile(STATIC_DIR / name, folder / name)
    (folder / "data.js").write_text(page_script(data), encoding="ascii")
