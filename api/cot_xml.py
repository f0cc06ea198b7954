"""Cursor-on-Target events as XML, written here rather than by pytak: pytak's `gen_cot_xml` rounds
lat/lon to 4 decimals (up to ~11 m) while an incident can be placed to a few metres.

Follows the CoT base schema (MITRE, `Event.xsd`): `<event version uid type how time start stale>` with
one `<point lat lon hae ce le>` and a free `<detail>`. Unknown hae/ce/le are 9999999.0, the CoT
convention. A closed incident is removed from TAK maps by a `t-x-d-d` delete event naming it in
`<link>` (with `<__forcedelete/>`, which ATAK and WinTAK honour).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

UID_PREFIX = "tenken"
INCIDENT_COT_TYPE = "b-m-p-s-p-i"  # a spot-map point of interest: every TAK client draws it
DRONE_COT_TYPE = "a-f-A-M-H-Q"  # friendly, air, rotary-wing UAV
DELETE_COT_TYPE = "t-x-d-d"  # tasking: delete the events named in <link>
UNKNOWN = 9999999.0  # CoT's "not known" for hae/ce/le
HOW_MACHINE = "m-g"  # machine generated (GPS-derived position)
HOW_DELETE = "h-g-i-g-o"


def cot_time(timestamp_s: float) -> str:
    """CoT's time format: UTC, ISO 8601 with milliseconds and Z."""
    moment = dt.datetime.fromtimestamp(timestamp_s, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number(value: float | None) -> str:
    return f"{UNKNOWN:.1f}" if value is None else f"{value:.1f}"


def cot_event(
    *,
    uid: str,
    cot_type: str,
    lat: float,
    lon: float,
    now_s: float,
    stale_s: float,
    hae_m: float | None = None,
    ce_m: float | None = None,
    le_m: float | None = None,
    how: str = HOW_MACHINE,
) -> ET.Element:
    """An `<event>` with its `<point>` and an empty `<detail>`; lat/lon to 8 decimals (about 1 mm)."""
    event = ET.Element(
        "event",
        version="2.0",
        uid=uid,
        type=cot_type,
        how=how,
        time=cot_time(now_s),
        start=cot_time(now_s),
        stale=cot_time(now_s + stale_s),
    )
    ET.SubElement(
        event,
        "point",
        lat=f"{lat:.8f}",
        lon=f"{lon:.8f}",
        hae=_number(hae_m),
        ce=_number(ce_m),
        le=_number(le_m),
    )
    ET.SubElement(event, "detail")
    return event


def _detail(event: ET.Element) -> ET.Element:
    detail = event.find("detail")
    assert detail is not None
    return detail


def incident_uid(incident: dict[str, Any]) -> str:
    """One TAK marker per incident: the store's key, else the live pipeline's id, else the store id."""
    ident = incident.get("key") or incident.get("incident_id") or incident["id"]
    return f"{UID_PREFIX}-incident-{ident}"


def incident_cot(incident: dict[str, Any], stale_s: float, now_s: float) -> bytes | None:
    """An incident as a CoT point of interest (None while it has no position on the ground). The
    ground's height is not known, so hae is unknown; ce is the incident's error when it has one."""
    if incident.get("lat") is None or incident.get("lon") is None:
        return None
    closed = incident.get("state") == "closed"
    label = incident.get("key") or incident.get("incident_id") or incident.get("id")
    error = incident.get("error_m")
    event = cot_event(
        uid=incident_uid(incident),
        cot_type=INCIDENT_COT_TYPE,
        lat=float(incident["lat"]),
        lon=float(incident["lon"]),
        now_s=now_s,
        stale_s=0.0 if closed else stale_s,
        ce_m=None if error is None else float(error),
    )
    kind = str(incident["kind"])
    detail = _detail(event)
    ET.SubElement(detail, "contact", callsign=f"{kind.upper()} {label}")
    ET.SubElement(detail, "remarks").text = (
        f"Tenken {kind} incident {label} {incident.get('state', 'open')}: "
        f"confidence {float(incident.get('confidence', 0)):.2f}, seen by {incident.get('source', '?')}"
    )
    return ET.tostring(event)


def delete_cot(uid: str, cot_type: str, now_s: float) -> bytes:
    """The CoT that removes marker `uid` from TAK clients' maps."""
    event = cot_event(
        uid=f"{uid}-delete",
        cot_type=DELETE_COT_TYPE,
        lat=0.0,
        lon=0.0,
        now_s=now_s,
        stale_s=20.0,
        how=HOW_DELETE,
    )
    detail = _detail(event)
    ET.SubElement(detail, "link", uid=uid, relation="none", type=cot_type)
    ET.SubElement(detail, "__forcedelete")
    return ET.tostring(event)


def telemetry_cot(state: dict[str, Any], stale_s: float, now_s: float, gps_error_m: float) -> bytes | None:
    """A drone's position as a CoT air track (None while it has no position). Its altitude is above
    home, not above the ellipsoid, so hae is unknown unless the state carries `alt_hae_m`."""
    if state.get("lat") is None or state.get("lon") is None:
        return None
    vehicle = str(state.get("vehicle_id", "drone"))
    hae = state.get("alt_hae_m")
    event = cot_event(
        uid=f"{UID_PREFIX}-drone-{vehicle}",
        cot_type=DRONE_COT_TYPE,
        lat=float(state["lat"]),
        lon=float(state["lon"]),
        now_s=now_s,
        stale_s=stale_s,
        hae_m=None if hae is None else float(hae),
        ce_m=gps_error_m,
    )
    battery = state.get("battery_pct")
    detail = _detail(event)
    ET.SubElement(detail, "contact", callsign=vehicle)
    ET.SubElement(detail, "remarks").text = (
        f"mode {state.get('mode') or '?'}, battery {'?' if battery is None else f'{battery:.0f} %'}"
        + ("" if state.get("alt_m") is None else f", {float(state['alt_m']):.0f} m above home")
    )
    ET.SubElement(
        detail,
        "track",
        course=f"{float(state.get('heading_deg') or 0.0):.1f}",
        speed=f"{float(state.get('groundspeed_mps') or 0.0):.1f}",
    )
    return ET.tostring(event)
