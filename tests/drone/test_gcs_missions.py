"""The mission protocol as ArduPilot speaks it, driven by bare pymavlink ground stations."""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim import mission_protocol

from .conftest import HOME, wait_until
from .ground_station import GCS_COMPID, GCS_SYSID, command_int, command_long, connect_gcs, fly_guided, recv

RELATIVE = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT
FENCE, RALLY = mav.MAV_MISSION_TYPE_FENCE, mav.MAV_MISSION_TYPE_RALLY
# home, take-off, two waypoints 30-40 m away, RTL
ITEMS = [
    (mav.MAV_CMD_NAV_WAYPOINT, HOME[0], HOME[1], 0.0),
    (mav.MAV_CMD_NAV_TAKEOFF, 0.0, 0.0, 10.0),
    (mav.MAV_CMD_NAV_WAYPOINT, HOME[0] + 0.0003, HOME[1], 12.0),
    (mav.MAV_CMD_NAV_WAYPOINT, HOME[0] + 0.0003, HOME[1] + 0.0003, 12.0),
    (mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, 0.0, 0.0, 0.0),
]


def send_item(gcs, seq: int, item: tuple[int, float, float, float]) -> None:
    cmd, lat, lon, alt = item
    gcs.mav.mission_item_int_send(1, 1, seq, RELATIVE, cmd, 0, 1, 0, 0, 0, 0,
                                  round(lat * 1e7), round(lon * 1e7), alt)  # fmt: skip


def upload(gcs, items) -> int:
    gcs.mav.mission_count_send(1, 1, len(items))
    for _ in items:
        request = recv(gcs, "MISSION_REQUEST")
        assert (request.target_system, request.target_component) == (GCS_SYSID, GCS_COMPID)
        send_item(gcs, request.seq, items[request.seq])
    reply = recv(gcs, "MISSION_ACK")
    assert (reply.target_system, reply.target_component) == (GCS_SYSID, GCS_COMPID)
    return int(reply.type)


def test_upload_requests_and_acks_are_addressed_to_the_uploading_component(gcs, sim):
    assert upload(gcs, ITEMS) == mav.MAV_MISSION_ACCEPTED
    assert [item.command for item in sim.vehicle.mission] == [cmd for cmd, *_ in ITEMS]


def test_download_answers_mission_request_int_and_corrects_a_bad_sequence(gcs, sim):
    assert upload(gcs, ITEMS) == mav.MAV_MISSION_ACCEPTED
    gcs.mav.mission_request_list_send(1, 1)
    count = recv(gcs, "MISSION_COUNT")
    assert (count.count, count.target_component) == (5, GCS_COMPID)
    gcs.mav.mission_request_int_send(1, 1, 3)
    item = recv(gcs, "MISSION_ITEM_INT", seq=3)
    assert (item.x, item.y, item.z) == (
        round((HOME[0] + 0.0003) * 1e7),
        round((HOME[1] + 0.0003) * 1e7),
        12.0,
    )
    gcs.mav.mission_request_int_send(1, 1, 9)
    assert recv(gcs, "MISSION_COUNT").count == 5
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_INVALID_SEQUENCE


def test_a_second_ground_station_cannot_cut_into_an_upload(gcs, sim):
    other = connect_gcs(sim, sysid=254, compid=190)
    try:
        gcs.mav.mission_count_send(1, 1, 3)
        recv(gcs, "MISSION_REQUEST", seq=0)
        other.mav.mission_count_send(1, 1, 2)
        denied = recv(other, "MISSION_ACK", target_system=254)
        assert denied.type == mav.MAV_MISSION_DENIED
        other.mav.mission_request_list_send(1, 1)
        assert recv(other, "MISSION_ACK", target_system=254).type == mav.MAV_MISSION_DENIED
    finally:
        other.close()


def test_a_stalled_upload_is_requested_again_then_cancelled(gcs, sim, monkeypatch):
    monkeypatch.setattr(mission_protocol, "UPLOAD_TIMEOUT_S", 2.5)
    gcs.mav.mission_count_send(1, 1, 3)
    recv(gcs, "MISSION_REQUEST", seq=0)
    recv(gcs, "MISSION_REQUEST", seq=0)  # re-requested after a second of silence
    cancelled = recv(gcs, "MISSION_ACK")
    assert (cancelled.type, cancelled.target_component) == (mav.MAV_MISSION_OPERATION_CANCELLED, GCS_COMPID)
    assert sim.missions.upload is None and len(sim.vehicle.mission) == 0


def test_an_item_out_of_turn_is_refused_and_the_upload_goes_on(gcs, sim):
    gcs.mav.mission_count_send(1, 1, 2)
    recv(gcs, "MISSION_REQUEST", seq=0)
    send_item(gcs, 1, ITEMS[1])
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_INVALID_SEQUENCE
    send_item(gcs, 0, ITEMS[0])
    recv(gcs, "MISSION_REQUEST", seq=1)
    send_item(gcs, 1, ITEMS[1])
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_ACCEPTED


def test_a_partial_upload_replaces_only_its_items(gcs, sim):
    assert upload(gcs, ITEMS) == mav.MAV_MISSION_ACCEPTED
    gcs.mav.mission_write_partial_list_send(1, 1, 2, 2)
    recv(gcs, "MISSION_REQUEST", seq=2)
    send_item(gcs, 2, (mav.MAV_CMD_NAV_WAYPOINT, HOME[0] + 0.0005, HOME[1], 25.0))
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_ACCEPTED
    mission = sim.vehicle.mission
    assert len(mission) == 5 and mission[2].alt_m == 25.0 and mission[3].alt_m == 12.0
    gcs.mav.mission_write_partial_list_send(1, 1, 4, 9)
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_ERROR


def test_fence_and_rally_transfers_are_refused_as_unsupported(gcs):
    for mission_type in (FENCE, RALLY):
        gcs.mav.mission_count_send(1, 1, 3, mission_type)
        assert recv(gcs, "MISSION_ACK", mission_type=mission_type).type == mav.MAV_MISSION_UNSUPPORTED
        gcs.mav.mission_request_list_send(1, 1, mission_type)
        assert recv(gcs, "MISSION_ACK", mission_type=mission_type).type == mav.MAV_MISSION_UNSUPPORTED
        gcs.mav.mission_clear_all_send(1, 1, mission_type)
        assert recv(gcs, "MISSION_ACK", mission_type=mission_type).type == mav.MAV_MISSION_UNSUPPORTED


def test_the_flown_mission_reports_current_and_reached_items_and_cannot_be_cleared(gcs, sim):
    assert upload(gcs, ITEMS) == mav.MAV_MISSION_ACCEPTED
    current = recv(gcs, "MISSION_CURRENT")
    assert (current.total, current.mission_state) == (4, mav.MISSION_STATE_NOT_STARTED)
    fly_guided(gcs, sim, 5.0)
    assert command_long(gcs, mav.MAV_CMD_MISSION_START) == mav.MAV_RESULT_ACCEPTED
    gcs.mav.mission_clear_all_send(1, 1)
    reached, states, clear_results = [], set(), []
    while 4 not in reached:
        msg = gcs.recv_match(type=["MISSION_ITEM_REACHED", "MISSION_CURRENT", "MISSION_ACK"], blocking=True,
                             timeout=30)  # fmt: skip
        assert msg is not None, "the mission stalled"
        if msg.get_type() == "MISSION_ITEM_REACHED":
            reached.append(msg.seq)
        elif msg.get_type() == "MISSION_CURRENT":
            states.add(msg.mission_state)
        else:
            clear_results.append(msg.type)
    assert clear_results == [mav.MAV_MISSION_ERROR]  # AP_Mission refuses to clear a running mission
    assert reached == [1, 2, 3, 4]
    assert mav.MISSION_STATE_ACTIVE in states
    recv(gcs, "MISSION_CURRENT", mission_state=mav.MISSION_STATE_COMPLETE, timeout_s=30)
    assert wait_until(lambda: not sim.vehicle.armed, 30.0)
    gcs.mav.mission_clear_all_send(1, 1)
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_ACCEPTED
    assert recv(gcs, "MISSION_CURRENT").mission_state == mav.MISSION_STATE_NO_MISSION


def test_guided_goto_by_mission_item_is_acknowledged_and_not_stored(gcs, sim):
    fly_guided(gcs, sim, 10.0)
    lat, lon = HOME[0] + 0.0002, HOME[1] - 0.0002
    gcs.mav.mission_item_int_send(1, 1, 0, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, mav.MAV_CMD_NAV_WAYPOINT,
                                  2, 0, 0, 0, 0, 0, round(lat * 1e7), round(lon * 1e7), 16.0)  # fmt: skip
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_ACCEPTED
    x, y = sim.vehicle.proj.to_xy(lat, lon)
    assert wait_until(lambda: abs(sim.vehicle.x_m - x) < 0.5 and abs(sim.vehicle.y_m - y) < 0.5, 30.0)
    assert sim.vehicle.mission == []
    assert command_int(gcs, mav.MAV_CMD_NAV_LOITER_UNLIM) == mav.MAV_RESULT_ACCEPTED
    gcs.mav.mission_item_int_send(1, 1, 0, RELATIVE, mav.MAV_CMD_NAV_WAYPOINT, 2, 0, 0, 0, 0, 0,
                                  round(lat * 1e7), round(lon * 1e7), 16.0)  # fmt: skip
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_ERROR  # not in GUIDED
