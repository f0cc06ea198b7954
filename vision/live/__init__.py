"""The live drone chain, one pipeline for every live entry point: posed frames -> detections and
scene classes -> sightings on the ground -> confirmed incidents (`vision.live.pipeline`)."""

from vision.live.incidents import Incident, IncidentChange, IncidentTracker
from vision.live.pipeline import (
    LIVE_KINDS,
    SCENE_KINDS,
    FrameResult,
    LiveDetector,
    LivePipeline,
    LocalDetector,
)
from vision.live.pose import DronePose, PoseHistory, below_horizon_deg, pose_from_state
from vision.live.sightings import LiveFrame, Sighting, sightings_in_frame

__all__ = [
    "LIVE_KINDS",
    "SCENE_KINDS",
    "DronePose",
    "FrameResult",
    "Incident",
    "IncidentChange",
    "IncidentTracker",
    "LiveDetector",
    "LiveFrame",
    "LivePipeline",
    "LocalDetector",
    "PoseHistory",
    "Sighting",
    "below_horizon_deg",
    "pose_from_state",
    "sightings_in_frame",
]
