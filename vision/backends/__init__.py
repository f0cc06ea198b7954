"""Detector backends: ONNX Runtime and OpenVINO (no torch), and ultralytics for `.pt` weights."""
