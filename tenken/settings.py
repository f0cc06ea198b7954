"""One typed settings model: env vars `TENKEN_*`, an optional TOML file, validated up front."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tenken.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
# The drone camera profile's defaults, named so code that has no Settings at hand (the simulator, pure
# functions' defaults) uses the same optics as the settings themselves.
DRONE_CAMERA_HFOV_DEG = 73.7
DRONE_GPS_ERROR_M = 3.0
# Model defaults, named for `vision.models.runtime.RuntimeOptions` (library code that is given no Settings).
DEFAULT_MODELS_DIR = REPO_ROOT / "models"
DEFAULT_DEVICE = "auto"


def _config_file() -> Path | None:
    path = os.environ.get("TENKEN_CONFIG")
    return Path(path) if path else None


class Settings(BaseSettings):
    """Every setting Tenken reads. No broker URL means the embedded (single process) path."""

    model_config = SettingsConfigDict(env_prefix="TENKEN_", extra="forbid")

    data_dir: Path = Field(
        default=Path.home() / ".local" / "share" / "tenken",
        description="Where the embedded store, uploads and media live.",
    )
    models_dir: Path = Field(default=DEFAULT_MODELS_DIR, description="Shipped model folders.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file under data_dir."
    )
    broker_url: str | None = Field(default=None, description="Celery broker (Redis) URL; unset = embedded.")
    result_url: str | None = Field(default=None, description="Celery result backend URL.")
    tile_url: str = Field(
        default=DEFAULT_TILE_URL,
        description="Map tile URL template; empty string for no tiles (the map still works).",
    )
    device: str = Field(
        default=DEFAULT_DEVICE,
        pattern="^(auto|cpu|cuda)$",
        description="Inference device: cuda runs the torch backend in fp16 on the GPU (tenken[gpu]) or "
        "refuses to start; cpu runs OpenVINO, else ONNX Runtime; auto takes the GPU when it is usable.",
    )
    inference_threads: int = Field(
        default=0, ge=0, description="CPU threads per model for ONNX Runtime / OpenVINO; 0 = all cores."
    )
    queue_prefix: str = Field(
        default="tenken",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Prefix of Celery queue names and Redis keys, so several deployments share a Redis.",
    )
    chunk_frames: int = Field(default=16, ge=1, le=1024, description="Sampled frames per job chunk.")
    chunk_max_attempts: int = Field(
        default=3, ge=1, description="Deliveries of one chunk before it is failed as a poison chunk."
    )
    frame_budget_s: float = Field(
        default=5.0,
        gt=0,
        description="Longest the slowest worker may take to decode and detect one sampled frame; "
        "sizes the broker's visibility timeout (see `effective_visibility_timeout_s`).",
    )
    visibility_timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="Redis broker: a task taken by a worker that vanished is re-delivered after this "
        "long; default: twice the longest chunk (chunk_frames x frame_budget_s), at least 5 minutes.",
    )
    aggregate_max_attempts: int = Field(
        default=5, ge=1, description="Tries of a job's aggregation before the job is failed with its error."
    )
    stale_job_s: float = Field(
        default=600.0,
        gt=0,
        description="An unfinished job with no progress this long, and no work on its way, is sent again.",
    )
    stale_job_max_redispatches: int = Field(
        default=3,
        ge=1,
        description="Times a stalled job is sent again without progress before it is failed.",
    )
    embedded_workers: int = Field(default=1, ge=1, le=64, description="Job threads of the embedded executor.")
    road_detector: str = Field(
        default="road",
        description="Detector of road survey jobs: a shipped model's name or a 'module:Class' import string.",
    )
    drone_ceiling_m: float = Field(
        default=150.0, gt=0, description="Highest altitude above home a mission may fly."
    )
    drone_max_waypoints: int = Field(default=500, gt=0, description="Most waypoints one mission may have.")
    drone_endurance_s: float = Field(default=1200.0, gt=0, description="Flight time on a full battery.")
    drone_reserve_pct: float = Field(
        default=25.0, ge=0, lt=100, description="Battery kept in reserve at landing."
    )
    drone_link_timeout_s: float = Field(
        default=5.0, gt=0, description="No heartbeat this long = link lost (RTL)."
    )
    drone_low_battery_pct: float = Field(
        default=25.0, ge=0, lt=100, description="Battery level that triggers RTL."
    )
    drone_camera_hfov_deg: float = Field(
        default=DRONE_CAMERA_HFOV_DEG,
        gt=10.0,
        lt=170.0,
        description="Drone camera profile: horizontal field of view of the gimbal camera, degrees. "
        "The gimbal pitch itself comes from telemetry (MAVLink: 0 level, -90 straight down).",
    )
    drone_camera_width_px: int = Field(default=1280, ge=16, description="Drone camera image width.")
    drone_camera_height_px: int = Field(default=720, ge=16, description="Drone camera image height.")
    drone_gps_error_m: float = Field(
        default=DRONE_GPS_ERROR_M, ge=0, description="Drone position error (GNSS), for incident ce."
    )

    live_every_s: float = Field(
        default=0.2, ge=0.02, description="Seconds of live video between analysed frames (every entry point)."
    )
    live_max_pose_age_s: float = Field(
        default=2.0,
        gt=0,
        description="A live frame farther than this from any telemetry sample gets no pose, so its "
        "findings are not placed on the map.",
    )
    live_conf: float | None = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Detection threshold of live feeds; unset = the model's own `conf`. Alerts are "
        "confirmed over several frames, so a lower threshold than the box-F1 optimum finds more fires "
        "at no cost in false alarms (fire model card: image-level recall 0.82 vs 0.65, none false).",
    )
    live_tiles: str = Field(
        default="off",
        description="Tiled inference of live feeds: 'off' or COLSxROWS, e.g. 2x2 (each frame is also cut "
        "into that grid of tiles overlapping by 20 %, detected and scene-classified with it in one "
        "batch: small fires and smoke are seen larger, at 1 + COLS*ROWS times the inference).",
    )
    incident_update_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="An open incident that has not moved is re-announced (map, SSE, CoT) at most this often.",
    )

    api_host: str = Field(default="127.0.0.1", description="Address `tenken serve` listens on.")
    api_port: int = Field(default=8600, ge=1, le=65535, description="Port `tenken serve` listens on.")
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed to call the API from a browser (JSON list, e.g. ["https://a.b"]).',
    )
    stream_ticket_ttl_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How long a stream ticket (the map's `?ticket=` for EventSource) may open a stream.",
    )
    upload_max_bytes: int = Field(
        default=4 * 1024**3, gt=0, description="Largest video or track upload accepted."
    )
    cot_url: str | None = Field(
        default=None,
        description="TAK server for Cursor-on-Target: tcp://, udp:// or tls://host:port; unset = off.",
    )
    cot_tls_cert: Path | None = Field(
        default=None, description="Client certificate (PEM) for a tls:// TAK server."
    )
    cot_tls_key: Path | None = Field(default=None, description="Client key (PEM) for a tls:// TAK server.")
    cot_tls_ca: Path | None = Field(
        default=None, description="CA bundle that signed the TAK server's certificate."
    )
    cot_stale_s: float = Field(
        default=120.0, gt=0, description="How long a CoT event stays valid in TAK clients."
    )
    live_video_fps: float = Field(
        default=5.0, gt=0, le=60, description="Frames per second sent to each live-video viewer."
    )
    live_video_width_px: int = Field(
        default=960, ge=160, le=3840, description="Width live-video frames are scaled to."
    )
    live_video_jpeg_quality: int = Field(
        default=70, ge=10, le=100, description="JPEG quality of the live video (thin links: 40-60)."
    )
    recording_dir: Path | None = Field(
        default=None, description="Where live flights are recorded; default data_dir/recordings."
    )
    recording_segment_s: float = Field(default=10.0, gt=0, description="Length of one recorded segment.")
    recording_retention_s: float = Field(
        default=24 * 3600.0, gt=0, description="Recorded segments older than this are deleted."
    )
    recording_max_bytes: int = Field(
        default=20 * 1024**3, gt=0, description="Recordings of one source are trimmed to this size."
    )
    live_person_detection: bool = Field(
        default=False, description="Search and rescue: raise 'person' findings from live drone video."
    )

    @field_validator("live_tiles")
    @classmethod
    def _tiles_grid(cls, value: str) -> str:
        text = value.strip().lower().replace(" ", "")
        if not re.fullmatch(r"off|[1-8]x[1-8]", text):
            raise ValueError(f"{value!r}: expected off or COLSxROWS (1 to 8 each), e.g. 2x2")
        return text

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _config_file()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def effective_visibility_timeout_s(self) -> float:
        """How long the broker waits before re-delivering a task whose worker vanished.

        Longer than any task may run (a task still running when it expires is delivered twice,
        harmless but wasted work), and no longer, so a dead machine's work moves on quickly.
        Aggregation of a long drive is the longest task, hence the 5-minute floor.
        """
        if self.visibility_timeout_s is not None:
            return self.visibility_timeout_s
        return max(300.0, 2 * self.chunk_frames * self.frame_budget_s)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tenken.sqlite3'}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning a validation failure into one line naming the bad key."""
    toml = _config_file()
    if toml is not None and not toml.is_file():
        raise ConfigError(f"TENKEN_CONFIG points to {toml}, which does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {key!r}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
