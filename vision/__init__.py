"""Frames to findings: detection backends, tracking, grading and the survey and live pipelines.

- `vision.models`: the model registry, the `Detector` interface, scene classifier, person model,
  device, runtime options, batching and the format cache; `vision.backends`: the runtimes behind it.
- `vision.road`: the road survey, from video sampling to graded defects, report and road network.
- `vision.live`: the live drone pipeline, incident confirmation, flight recording and quick-look.
- `vision.train`: training, evaluation and shipping models; `vision.cli`: the `tenken` commands.
"""
