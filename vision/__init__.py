"""Frames to findings: detection backends, tracking, grading and the survey and live pipelines."""
