"""User-facing failure families: each carries a message a user can act on."""


class TenkenError(Exception):
    """Base of every error the CLI prints as one line and the API turns into a 4xx."""

    exit_code = 2


class TrackError(TenkenError):
    """A GPS track is missing, unreadable, empty or does not cover the video."""


class VideoError(TenkenError):
    """A video cannot be opened or decoded."""


class ModelError(TenkenError):
    """Model weights are missing, unreadable or of an unknown format."""


class DataError(TenkenError):
    """A training or evaluation dataset is missing or malformed."""


class ConfigError(TenkenError):
    """A setting or command-line option is invalid."""


class MissionError(TenkenError):
    """A drone mission is invalid (polygon, altitude, battery, waypoint count)."""


class VehicleError(TenkenError):
    """The vehicle link failed or the vehicle refused a command."""


class JobError(TenkenError):
    """A job is unknown, or cannot be submitted, cancelled or completed."""


class DeviceError(TenkenError):
    """The inference device asked for is not there (no CUDA device, no CUDA-capable runtime)."""


class NetworkError(TenkenError):
    """A road network file is unreadable or has no usable centrelines, or a survey is not on it."""
