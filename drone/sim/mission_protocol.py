"""The MAVLink mission protocol as ArduPilot speaks it: uploads (whole and partial), downloads, clearing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.vehicle import SimVehicle
from drone.sim.vehicle_types import MissionItem, SimEvent

# ArduPilot re-requests an item after 1 s of silence and gives up 8 s after the last item arrived
# (MissionItemProtocol: upload_timeout_ms). Wall-clock here, so a speed-up cannot starve a real GCS.
REQUEST_RETRY_S = 1.0
UPLOAD_TIMEOUT_S = 8.0
MAX_ITEMS = 700  # about what an ArduPilot flight controller's storage holds
_MISSION = mav.MAV_MISSION_TYPE_MISSION


@dataclass
class _Upload:
    """An upload in progress: items first..last requested from one ground station (system, component)."""

    sysid: int
    compid: int
    first: int
    last: int
    partial: bool
    items: dict[int, MissionItem] = field(default_factory=dict)
    next_seq: int = 0
    last_request_s: float = 0.0
    last_receive_s: float = 0.0


def _sender(msg: Any) -> tuple[int, int]:
    return msg.get_srcSystem(), msg.get_srcComponent()


class MissionProtocol:
    """Mission transfers between ground stations and the vehicle; every request and ack is addressed to the
    system and component that started the transfer. Fence and rally transfers are refused with
    MAV_MISSION_UNSUPPORTED (this vehicle has neither, and AUTOPILOT_VERSION does not claim them)."""

    def __init__(self, link: Any, vehicle: SimVehicle) -> None:
        self._mav = link
        self.vehicle = vehicle
        self.upload: _Upload | None = None
        # ArduPilot warns once (until the next upload starts) about the float-coordinate messages
        self._warned_float_request = False
        self._warned_float_item = False

    def _ack(self, msg: Any, result: int, mission_type: int = _MISSION) -> None:
        self._mav.mission_ack_send(*_sender(msg), result, mission_type)

    def _refuse_other_types(self, msg: Any) -> bool:
        mission_type = getattr(msg, "mission_type", _MISSION)
        if mission_type == _MISSION:
            return False
        self._ack(msg, mav.MAV_MISSION_UNSUPPORTED, mission_type)
        return True

    # ---- download -----------------------------------------------------------------------------------

    def on_mission_request_list(self, msg: Any) -> None:
        if self._refuse_other_types(msg):
            return
        if self.upload is not None:  # ArduPilot refuses to read a mission while one is being written
            self._ack(msg, mav.MAV_MISSION_DENIED)
            return
        self._mav.mission_count_send(*_sender(msg), self.vehicle.mission_count, _MISSION)

    def on_mission_request_int(self, msg: Any) -> None:
        self._send_item(msg, as_int=True)

    def on_mission_request(self, msg: Any) -> None:
        if not self._warned_float_request:
            self._warned_float_request = True
            text = b"got MISSION_REQUEST; use MISSION_REQUEST_INT!"
            self._mav.statustext_send(mav.MAV_SEVERITY_WARNING, text)
        self._send_item(msg, as_int=False)

    def _send_item(self, msg: Any, *, as_int: bool) -> None:
        if self._refuse_other_types(msg):
            return
        if self.upload is not None:
            self._ack(msg, mav.MAV_MISSION_DENIED)
            return
        v = self.vehicle
        sysid, compid = _sender(msg)
        if not 0 <= msg.seq < v.mission_count:
            # like ArduPilot: tell the ground station the real count, then refuse the item
            self._mav.mission_count_send(sysid, compid, v.mission_count, _MISSION)
            self._ack(msg, mav.MAV_MISSION_INVALID_SEQUENCE)
            return
        item = v.mission_item(msg.seq)
        current = 1 if msg.seq == v.mission_seq else 0
        params = (item.param1, item.param2, item.param3, item.param4)
        if as_int:
            self._mav.mission_item_int_send(
                sysid, compid, item.seq, item.frame, item.command, current, item.autocontinue, *params,
                round(item.lat * 1e7), round(item.lon * 1e7), item.alt_m, _MISSION,
            )  # fmt: skip
        else:
            self._mav.mission_item_send(
                sysid, compid, item.seq, item.frame, item.command, current, item.autocontinue, *params,
                item.lat, item.lon, item.alt_m, _MISSION,
            )  # fmt: skip

    def on_mission_ack(self, msg: Any) -> None:
        """The ground station's ack at the end of a download needs no answer."""

    # ---- upload -------------------------------------------------------------------------------------

    def on_mission_count(self, msg: Any) -> None:
        if self._refuse_other_types(msg):
            return
        if not self._may_start_upload(msg):
            return
        if msg.count > MAX_ITEMS:
            self._ack(msg, mav.MAV_MISSION_NO_SPACE)
            return
        if msg.count == 0:
            self.vehicle.clear_mission()
            self._ack(msg, mav.MAV_MISSION_ACCEPTED)
            return
        self._start_upload(msg, 0, msg.count - 1, partial=False)

    def on_mission_write_partial_list(self, msg: Any) -> None:
        """Replace items start..end of the stored mission (end may be one past it: append one)."""
        if self._refuse_other_types(msg):
            return
        if not self._may_start_upload(msg):
            return
        count = self.vehicle.mission_count
        if not 0 <= msg.start_index <= msg.end_index <= count:
            self._mav.statustext_send(mav.MAV_SEVERITY_WARNING, b"Flight plan update rejected")
            self._ack(msg, mav.MAV_MISSION_ERROR)
            return
        self._start_upload(msg, msg.start_index, msg.end_index, partial=True)

    def _may_start_upload(self, msg: Any) -> bool:
        upload = self.upload
        if upload is not None and (upload.sysid, upload.compid) != _sender(msg):
            self._ack(msg, mav.MAV_MISSION_DENIED)  # someone else is uploading
            return False
        return True  # the same ground station may restart its own upload

    def _start_upload(self, msg: Any, first: int, last: int, *, partial: bool) -> None:
        sysid, compid = _sender(msg)
        self.upload = _Upload(sysid, compid, first, last, partial, next_seq=first)
        self._warned_float_request = self._warned_float_item = False
        now = time.monotonic()
        self.upload.last_receive_s = now
        self._request_next(now)

    def _request_next(self, now_s: float) -> None:
        upload = self.upload
        assert upload is not None
        upload.last_request_s = now_s
        # ArduPilot requests with MISSION_REQUEST (DroneKit answers nothing else); MISSION_ITEM and
        # MISSION_ITEM_INT are both accepted in reply.
        self._mav.mission_request_send(upload.sysid, upload.compid, upload.next_seq, _MISSION)

    def retry(self, now_s: float) -> None:
        """Called from the server loop: re-request a lost item, or cancel a stalled upload."""
        upload = self.upload
        if upload is None:
            return
        if now_s - upload.last_receive_s > UPLOAD_TIMEOUT_S:
            self.upload = None
            cancelled = mav.MAV_MISSION_OPERATION_CANCELLED
            self._mav.mission_ack_send(upload.sysid, upload.compid, cancelled, _MISSION)
            return
        if now_s - upload.last_request_s >= REQUEST_RETRY_S:
            self._request_next(now_s)

    def on_mission_item(self, msg: Any) -> None:
        if self._guided_request(msg, msg.x, msg.y):
            return
        if self.upload is not None and not self._warned_float_item:
            self._warned_float_item = True
            text = b"got MISSION_ITEM; GCS should send MISSION_ITEM_INT"
            self._mav.statustext_send(mav.MAV_SEVERITY_WARNING, text)
        self._store_item(msg, msg.x, msg.y)

    def on_mission_item_int(self, msg: Any) -> None:
        if self._guided_request(msg, msg.x / 1e7, msg.y / 1e7):
            return
        self._store_item(msg, msg.x / 1e7, msg.y / 1e7)

    def _guided_request(self, msg: Any, lat: float, lon: float) -> bool:
        """current=2: fly there in GUIDED (MAVProxy's `guided`, DroneKit's simple_goto); current=3: change
        the GUIDED altitude. Neither touches the stored mission."""
        if msg.current not in (2, 3):
            return False
        v = self.vehicle
        alt_m = v.relative_alt_m(msg.frame, msg.z)
        failure = v.goto(lat, lon, alt_m) if msg.current == 2 else v.change_alt(alt_m)
        if failure:
            v.events.append(SimEvent("statustext", text=failure, severity=mav.MAV_SEVERITY_WARNING))
        self._ack(msg, mav.MAV_MISSION_ERROR if failure else mav.MAV_MISSION_ACCEPTED)
        return True

    def _store_item(self, msg: Any, lat: float, lon: float) -> None:
        upload = self.upload
        if upload is None or getattr(msg, "mission_type", _MISSION) != _MISSION:
            return
        if msg.seq != upload.next_seq:
            self._ack(msg, mav.MAV_MISSION_INVALID_SEQUENCE)  # the retry timer asks for the right one
            return
        if _sender(msg) != (upload.sysid, upload.compid):
            self._ack(msg, mav.MAV_MISSION_DENIED)
            return
        failure = None
        if not -90.0 <= lat <= 90.0:
            failure = mav.MAV_MISSION_INVALID_PARAM5_X
        elif not -180.0 <= lon <= 180.0:
            failure = mav.MAV_MISSION_INVALID_PARAM6_Y
        if failure is not None:
            self.upload = None
            self._ack(msg, failure)
            return
        upload.items[msg.seq] = MissionItem(
            msg.seq, msg.frame, msg.command, msg.param1, msg.param2, msg.param3, msg.param4,
            lat, lon, msg.z, msg.autocontinue,
        )  # fmt: skip
        upload.last_receive_s = time.monotonic()
        upload.next_seq += 1
        if upload.next_seq <= upload.last:
            self._request_next(upload.last_receive_s)
            return
        self.upload = None
        self._finish(upload)
        self._ack(msg, mav.MAV_MISSION_ACCEPTED)

    def _finish(self, upload: _Upload) -> None:
        v = self.vehicle
        if not upload.partial:
            v.set_mission([upload.items[seq] for seq in range(upload.first, upload.last + 1)])
            return
        items = list(v.mission) or [v.mission_item(0)]
        for seq, item in upload.items.items():
            if seq < len(items):
                items[seq] = item
            else:
                items.append(item)
        v.replace_mission(items)

    # ---- clearing and the current item ----------------------------------------------------------------

    def on_mission_clear_all(self, msg: Any) -> None:
        if self._refuse_other_types(msg):
            return
        ok = self.upload is None and self.vehicle.clear_mission()
        self._ack(msg, mav.MAV_MISSION_ACCEPTED if ok else mav.MAV_MISSION_ERROR)

    def on_mission_set_current(self, msg: Any) -> None:
        self.vehicle.set_mission_current(msg.seq)
