"""Incident confirmation on scripted frame sequences."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.live.confirmation import ConfirmationPolicy, IncidentBook, run_sequence

POLICY = ConfirmationPolicy(min_hits=3, window_frames=5, clear_frames=4)


def events(seq: str, policy: ConfirmationPolicy = POLICY) -> list[str | None]:
    """Events per frame for a sequence written as 'x' (seen) and '.' (not seen)."""
    return [s.event for s in run_sequence((c == "x" for c in seq), policy)]


def test_single_false_frame_never_raises_an_alert() -> None:
    assert all(e is None for e in events("....x....x....x...."))


def test_alert_opens_on_the_frame_that_reaches_min_hits_in_the_window() -> None:
    assert events("x.x.x") == [None, None, None, None, "opened"]


def test_hits_spread_wider_than_the_window_do_not_open() -> None:
    assert all(e is None for e in events("x...x...x...x"))


def test_one_missed_frame_does_not_close_an_open_alert() -> None:
    got = events("xxx.xxx.xx")
    assert got.count("opened") == 1 and "closed" not in got


def test_alert_closes_after_clear_frames_misses_in_a_row() -> None:
    assert events("xxx....") == [None, None, "opened", None, None, None, "closed"]


def test_closed_alert_needs_a_fresh_confirmation_to_reopen() -> None:
    got = events("xxx....x.x" + "x")
    assert got[6] == "closed"
    assert got[7:10] == [None, None, None]
    assert got[10] == "opened"


def test_invalid_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        ConfirmationPolicy(min_hits=6, window_frames=5)
    with pytest.raises(ValueError):
        ConfirmationPolicy(clear_frames=0)


@given(st.lists(st.booleans(), max_size=200))
def test_opened_and_closed_alternate_and_start_with_opened(seq: list[bool]) -> None:
    got = [s.event for s in run_sequence(seq, POLICY) if s.event]
    assert got == ["opened", "closed"] * (len(got) // 2) + ["opened"] * (len(got) % 2)


@given(st.lists(st.booleans(), max_size=200))
def test_an_alert_lasts_at_least_clear_frames(seq: list[bool]) -> None:
    states = run_sequence(seq, POLICY)
    opened_at = None
    for i, s in enumerate(states):
        if s.event == "opened":
            opened_at = i
        if s.event == "closed":
            assert opened_at is not None and i - opened_at >= POLICY.clear_frames


def test_book_tracks_each_finding_separately() -> None:
    book = IncidentBook(ConfirmationPolicy(min_hits=2, window_frames=3, clear_frames=2))
    assert book.observe(["fire"]) == {}
    assert book.observe(["fire", "smoke"]) == {"fire": "opened"}
    assert book.observe(["smoke"]) == {"smoke": "opened"}
    assert book.observe([]) == {"fire": "closed"}
    assert book.observe([]) == {"smoke": "closed"}
    assert book.active() == {}
