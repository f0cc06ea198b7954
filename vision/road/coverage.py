"""How much of a video a survey covers: a truncated or damaged file must not pass for a whole one.

>>> cut = VideoCoverage(33.5, 5.0, 201, 30, 41, 7)
>>> cut.complete, round(cut.decoded_fraction, 2)
(False, 0.15)
>>> for part in cut.warning().split("; "):
...     print(part)
the report covers 5.0 s of a 33.5 s video: decoding stopped at frame 30 of 201 (truncated or corrupt file)
7 of 41 planned frames were analysed
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vision.road.video import VideoInfo

# A decoded part shorter than the video by more than this is reported (half a second of driving
# is a few metres of road; less is rounding between the container's figures).
COVERAGE_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class VideoCoverage:
    """The video as stated by its container against what could be decoded and analysed."""

    video_duration_s: float  # what the container says the recording lasts
    decoded_duration_s: float  # from the first frame to where decoding stopped (or the file ends)
    frames_in_video: int  # frames the container states
    frames_decoded: int  # frames that could be read before decoding stopped
    frames_planned: int  # frames the sampler chose to analyse
    frames_sampled: int  # frames actually analysed

    @property
    def decoded_fraction(self) -> float:
        if self.video_duration_s <= 0:
            return 1.0
        return min(1.0, self.decoded_duration_s / self.video_duration_s)

    @property
    def complete(self) -> bool:
        short_s = self.video_duration_s - self.decoded_duration_s
        return short_s <= COVERAGE_TOLERANCE_S and self.frames_sampled >= self.frames_planned

    def warning(self) -> str | None:
        """One sentence saying what the report misses; None when it covers the whole video."""
        if self.complete:
            return None
        parts = []
        if self.video_duration_s - self.decoded_duration_s > COVERAGE_TOLERANCE_S:
            parts.append(
                f"the report covers {self.decoded_duration_s:.1f} s of a {self.video_duration_s:.1f} s "
                f"video: decoding stopped at frame {self.frames_decoded} of {self.frames_in_video} "
                "(truncated or corrupt file)"
            )
        if self.frames_sampled < self.frames_planned:
            parts.append(f"{self.frames_sampled} of {self.frames_planned} planned frames were analysed")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """What report.json carries."""
        out: dict[str, Any] = asdict(self)
        out["video_duration_s"] = round(self.video_duration_s, 3)
        out["decoded_duration_s"] = round(self.decoded_duration_s, 3)
        out["decoded_fraction"] = round(self.decoded_fraction, 3)
        out["complete"] = self.complete
        out["warning"] = self.warning()
        return out


def video_coverage(
    info: VideoInfo,
    frames_planned: int,
    frames_sampled: int,
    stopped_at_frame: int | None = None,
    stopped_at_s: float | None = None,
) -> VideoCoverage:
    """Coverage of a survey of the video `info` (probed with its timestamps).

    Without a stop, decoding reached as far as the file holds frames (fewer than stated when it
    was cut short); with one, it ended at that frame.
    """
    decoded_frames, decoded_s = info.frames_readable, info.readable_duration_s
    if stopped_at_frame is not None and stopped_at_frame < decoded_frames:
        decoded_frames = stopped_at_frame
        decoded_s = stopped_at_s if stopped_at_s is not None else info.frame_time_s(stopped_at_frame)
    return VideoCoverage(
        video_duration_s=info.duration_s,
        decoded_duration_s=decoded_s,
        frames_in_video=info.frame_count,
        frames_decoded=decoded_frames,
        frames_planned=frames_planned,
        frames_sampled=frames_sampled,
    )
