"""The torch backend (the GPU path) gives the ONNX Runtime backend's boxes; run here on the CPU."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from tenken.errors import ModelError  # noqa: E402
from vision.backends.onnx_torch_graph import OnnxGraphModule  # noqa: E402
from vision.backends.torch_backend import TorchDetector  # noqa: E402
from vision.models.detector import DetectorOptions, load_detector  # noqa: E402
from vision.models.runtime import RuntimeOptions  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ROAD_ONNX = REPO / "models" / "road" / "road.onnx"


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(REPO / "samples" / "drive.mp4"))
    out = []
    for i in range(48):
        ok, frame = capture.read()
        assert ok
        if i % 6 == 0:
            out.append(frame)
    capture.release()
    return out


def test_rebuilt_graph_runs_any_batch_size_with_onnxruntimes_output():
    import onnxruntime as ort

    module = OnnxGraphModule(ROAD_ONNX).eval()
    x = np.random.default_rng(0).random((3, 3, 416, 416), dtype=np.float32)
    session = ort.InferenceSession(str(ROAD_ONNX), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        out = module(torch.from_numpy(x)).numpy()
    for i in range(3):  # the export has batch 1 baked in; the module takes 3
        reference = session.run(None, {"images": x[i : i + 1]})[0][0]
        assert np.abs(out[i] - reference).max() < 1e-2


def test_torch_backend_finds_the_boxes_the_onnx_backend_finds(frames):
    wide = cv2.resize(frames[1], (640, 360))  # another size in the same batch: its own letterbox
    batch = [*frames, wide]
    ours = TorchDetector(ROAD_ONNX, DetectorOptions(conf=0.2), device="cpu").predict(batch)
    reference = load_detector(ROAD_ONNX, conf=0.2, runtime=RuntimeOptions(device="cpu")).predict(batch)
    assert sum(len(d) for d in reference) > 0
    for a, b in zip(ours, reference, strict=True):
        assert len(a) == len(b)
        assert (a.class_id == b.class_id).all()
        if len(a):
            assert np.abs(a.xyxy - b.xyxy).max() < 1.5
            assert np.abs(a.confidence - b.confidence).max() < 0.01


def test_torch_backend_keeps_frames_in_order_across_its_batches(frames):
    detector = TorchDetector(ROAD_ONNX, DetectorOptions(conf=0.2, batch=3), device="cpu")
    one_call = detector.predict(frames)
    singly = [detector.predict([f])[0] for f in frames]
    assert [len(d) for d in one_call] == [len(d) for d in singly]


def test_an_onnx_op_the_torch_backend_cannot_run_is_a_model_error(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Gemm", ["x", "x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "gemm.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ModelError, match="does not run ONNX ops Gemm"):
        OnnxGraphModule(path)
