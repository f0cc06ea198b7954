"""Incident confirmation: a finding becomes an alert only when seen in enough recent frames.

Pure and frame-driven: feed one observation per frame (was the finding seen?) and get back the
incident's state. An alert opens when the finding is seen in at least `min_hits` of the last
`window_frames` frames, and closes only after it has been absent for `clear_frames` consecutive
frames, so one false frame neither raises nor clears an alert (no flapping).

>>> c = ConfirmationPolicy(min_hits=2, window_frames=3, clear_frames=2)
>>> state = IncidentState.initial()
>>> [(state := update(state, seen, c)).event for seen in (True, False, True, False, False)]
[None, None, 'opened', None, 'closed']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

Event = Literal["opened", "closed"] | None


@dataclass(frozen=True)
class ConfirmationPolicy:
    """`min_hits` of the last `window_frames` frames open an alert; `clear_frames` misses close it."""

    min_hits: int = 3
    window_frames: int = 5
    clear_frames: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.min_hits <= self.window_frames:
            raise ValueError("need 1 <= min_hits <= window_frames")
        if self.clear_frames < 1:
            raise ValueError("clear_frames must be at least 1")


@dataclass(frozen=True)
class IncidentState:
    """One finding's confirmation state after the latest frame."""

    recent: tuple[bool, ...] = ()  # seen / not seen in the last window_frames frames, oldest first
    active: bool = False
    misses_in_row: int = 0
    event: Event = None  # what the latest frame changed

    @classmethod
    def initial(cls) -> IncidentState:
        return cls()

    @property
    def hits(self) -> int:
        return sum(self.recent)


def update(state: IncidentState, seen: bool, policy: ConfirmationPolicy) -> IncidentState:
    """The state after one more frame in which the finding was `seen` or not."""
    recent = (*state.recent, seen)[-policy.window_frames :]
    misses = 0 if seen else state.misses_in_row + 1
    if not state.active:
        opens = sum(recent) >= policy.min_hits
        return IncidentState(recent, opens, misses, "opened" if opens else None)
    if misses >= policy.clear_frames:
        # the window restarts empty so a closed alert needs a fresh confirmation to reopen
        return IncidentState((), False, misses, "closed")
    return replace(state, recent=recent, misses_in_row=misses, event=None)


def run_sequence(seen: Iterable[bool], policy: ConfirmationPolicy) -> list[IncidentState]:
    """The state after every frame of a scripted sequence."""
    states = []
    state = IncidentState.initial()
    for s in seen:
        state = update(state, s, policy)
        states.append(state)
    return states


@dataclass
class IncidentBook:
    """Confirmation for several findings at once (e.g. per class or per track id), frame by frame."""

    policy: ConfirmationPolicy
    states: dict[str, IncidentState] = field(default_factory=dict)

    def observe(self, seen_keys: Iterable[str], known_keys: Iterable[str] = ()) -> dict[str, Event]:
        """Feed one frame: the keys seen in it; returns the events ('opened'/'closed') of this frame."""
        seen = set(seen_keys)
        events: dict[str, Event] = {}
        for key in seen | set(self.states) | set(known_keys):
            new = update(self.states.get(key, IncidentState.initial()), key in seen, self.policy)
            if not new.active and not any(new.recent):
                self.states.pop(key, None)  # forgotten: nothing in the window and no alert
            else:
                self.states[key] = new
            if new.event is not None:
                events[key] = new.event
        return events

    def active(self) -> Mapping[str, IncidentState]:
        return {k: s for k, s in self.states.items() if s.active}
