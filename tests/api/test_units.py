"""The API's pure helpers: content sniffing of uploads, bbox parsing, event ids, roles, incident merging."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from hypothesis import given
from hypothesis import strategies as st

from api.query_params import parse_bbox
from api.sse import format_event, id_order
from api.uploads import track_suffix, video_suffix
from tenken.errors import ConfigError, DataError
from tenken.events import Event
from tenken.store.auth import role_rank
from tenken.store.db import Store
from tenken.store.incidents import IncidentReport, close_incident, list_incidents, record_sighting


@pytest.mark.parametrize(
    ("head", "suffix"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", ".mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", ".mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81", ".mkv"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", ".avi"),
        (b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01", ".mpg"),
        ((b"\x47" + b"\x00" * 187) * 3, ".ts"),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"<?xml version", None),
        (b"G" + b"\x00" * 400, None),  # one sync byte is not a transport stream
        (b"", None),
    ],
)
def test_video_containers_are_told_by_their_first_bytes(head, suffix):
    assert video_suffix(head) == suffix


@pytest.mark.parametrize(
    ("name", "suffix"),
    [("drive.gpx", ".gpx"), ("LOG.NMEA", ".nmea"), ("a/b/../c.srt", ".srt"), ("x.php", ".txt"), ("", ".txt")],
)
def test_track_suffixes_come_from_an_allow_list(name, suffix):
    assert track_suffix(name) == suffix


@given(st.text(max_size=60))
def test_a_track_suffix_never_carries_a_path(name):
    suffix = track_suffix(name)
    assert suffix.startswith(".") and "/" not in suffix and "\\" not in suffix and ".." not in suffix


def test_a_bbox_is_read_in_geojson_order():
    assert parse_bbox("140.1,35.6,140.2,35.7") == (140.1, 35.6, 140.2, 35.7)
    assert parse_bbox(None) is None


@pytest.mark.parametrize("value", ["", "1,2,3,4,5", "nan,1,2,3", "inf,0,1,1", "1,1,0,0", "-181,0,0,1"])
def test_a_bad_bbox_is_a_400(value):
    with pytest.raises(HTTPException) as caught:
        parse_bbox(value)
    assert caught.value.status_code == 400


def test_event_ids_of_both_buses_sort_in_publication_order():
    assert id_order("9-0") < id_order("10-0")
    assert id_order("1764460000123-2") < id_order("1764460000123-10") < id_order("1764460000124-0")
    assert id_order("garbage") == (0, 0)


def test_an_sse_message_is_one_block_with_id_event_and_data():
    assert format_event(Event("3-0", "findings", {"a": 1})) == 'id: 3-0\nevent: findings\ndata: {"a":1}\n\n'


def test_roles_are_ordered_and_unknown_ones_refused():
    assert role_rank("viewer") < role_rank("operator") < role_rank("admin")
    with pytest.raises(ConfigError, match="unknown role 'root'"):
        role_rank("root")


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield s
    s.dispose()


def report(**overrides):
    base = {
        "key": "k",
        "kind": "fire",
        "lat": 35.0,
        "lon": 139.0,
        "error_m": 10.0,
        "timestamp_s": 100.0,
        "confidence": 0.6,
        "source": "d1",
    }
    return IncidentReport(**(base | overrides))


def test_a_better_placed_sighting_moves_the_incident_and_a_worse_one_does_not(store):
    with store.session() as s:
        record_sighting(s, report())
        row, change = record_sighting(s, report(lat=35.001, error_m=4.0, timestamp_s=110.0))
        assert change == "updated" and (row.lat, row.error_m) == (35.001, 4.0)
        row, _ = record_sighting(s, report(lat=36.0, error_m=50.0, timestamp_s=120.0))
        assert (row.lat, row.error_m, row.last_seen_s) == (35.001, 4.0, 120.0)


def test_a_sighting_of_a_closed_incident_reopens_it(store):
    with store.session() as s:
        record_sighting(s, report())
        assert close_incident(s, "k", 150.0).state == "closed"
        assert close_incident(s, "k", 151.0) is None
        row, change = record_sighting(s, report(timestamp_s=200.0))
        assert (change, row.state, row.closed_s) == ("opened", "open", None)
        assert len(list_incidents(s)) == 1


@pytest.mark.parametrize("bad", [{"kind": "meteor"}, {"lat": 91.0}, {"lon": -181.0}])
def test_an_impossible_sighting_is_refused(store, bad):
    with store.session() as s, pytest.raises(DataError):
        record_sighting(s, report(**bad))
