"""A telemetry publisher that posts state messages to the command-post API (`POST /api/telemetry`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from drone.telemetry import Publisher
from tenken.errors import VehicleError


def api_publisher(api_url: str, token: str, *, timeout_s: float = 2.0) -> Publisher:
    """A `Publisher` for `TelemetryBridge`: one POST per message with an operator token.

    Failures raise VehicleError; the bridge logs and counts them and keeps sampling.
    """
    url = api_url.rstrip("/") + "/api/telemetry"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def publish(message: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url, data=json.dumps(message).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise VehicleError(f"telemetry rejected by {url}: HTTP {exc.code} {exc.read()[:200]!r}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise VehicleError(f"cannot post telemetry to {url}: {exc}") from None

    return publish
