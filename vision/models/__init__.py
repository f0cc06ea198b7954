"""Models and how they run: the registry of shipped models, the `Detector` interface, the scene
classifier, the person model, device and runtime options, batching and the format cache."""
