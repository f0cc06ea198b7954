"""Every page talks to the API through one client (api/static/api_client.js): one place that sends the
token, asks for another when it is refused, and turns a failure into the API's own message."""

from __future__ import annotations

import re
from pathlib import Path

from api.routers.page import STATIC_DIR
from tenken.network.compare_output import STATIC_DIR as COMPARE_STATIC_DIR

CLIENT = "api_client.js"
PAGES = [STATIC_DIR / "index.html", COMPARE_STATIC_DIR / "compare.html"]
SCRIPTS = [p for d in (STATIC_DIR, COMPARE_STATIC_DIR) for p in sorted(d.glob("*.js")) if p.name != CLIENT]
UNAUTHENTICATED = {"/api/config"}  # read before there is a token


def test_no_page_script_sends_the_token_or_fetches_by_itself():
    assert SCRIPTS
    for script in SCRIPTS:
        text = script.read_text()
        assert "Authorization" not in text, f"{script.name} sends the token itself"
        calls = re.findall(r"""\bfetch\(\s*(["'][^"']*["'])?""", text)  # the URL when it is a literal
        fetched = {c.strip("\"'") if c else "(a computed URL)" for c in calls}
        assert fetched <= UNAUTHENTICATED, f"{script.name} fetches {fetched - UNAUTHENTICATED} by itself"


def test_every_page_loads_the_client_before_its_own_scripts():
    for page in PAGES:
        sources = re.findall(r'<script src="([^"]+)"', page.read_text())
        own = [i for i, s in enumerate(sources) if Path(s).name in {p.name for p in SCRIPTS}]
        client = [i for i, s in enumerate(sources) if Path(s).name == CLIENT]
        assert own and client and client[0] < min(own), f"{page.name} loads {sources}"
