"""When an incident update is worth announcing: on a state change, when it moves or its ce changes by
more than `moved_m`, else at most every `interval_s` (an open fire is seen several times a second)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenken.geo import distance_m

MOVED_M = 2.0


@dataclass(frozen=True)
class _Announced:
    at_s: float
    lat: float | None
    lon: float | None
    error_m: float | None
    state: str


class UpdateThrottle:
    """Remembers what was last announced per incident key. Pure: the caller passes the time."""

    def __init__(self, interval_s: float, moved_m: float = MOVED_M) -> None:
        self.interval_s = interval_s
        self.moved_m = moved_m
        self._last: dict[str, _Announced] = {}

    def due(self, key: str, incident: dict[str, Any], now_s: float) -> bool:
        """True when this version of the incident should be announced (and remember it as announced)."""
        state = str(incident.get("state", "open"))
        lat, lon = incident.get("lat"), incident.get("lon")
        error = None if incident.get("error_m") is None else float(incident["error_m"])
        last = self._last.get(key)
        if last is not None and state == last.state:
            if state == "closed":
                return False
            moved = (
                lat is not None
                and lon is not None
                and last.lat is not None
                and last.lon is not None
                and distance_m(last.lat, last.lon, float(lat), float(lon)) > self.moved_m
            )
            ce_changed = (error is None) != (last.error_m is None) or (
                error is not None and last.error_m is not None and abs(error - last.error_m) > self.moved_m
            )
            if not moved and not ce_changed and now_s - last.at_s < self.interval_s:
                return False
        self._last[key] = _Announced(
            now_s, None if lat is None else float(lat), None if lon is None else float(lon), error, state
        )
        return True
