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
from vision.backends.torch_backend import HostStaging, TorchDetector, contiguous_runs  # noqa: E402
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


def test_staging_stacks_each_shape_group_into_one_reused_buffer_that_grows_when_needed():
    staging = HostStaging(pin=False)
    rng = np.random.default_rng(1)
    small = [rng.integers(0, 256, (4, 6, 3), dtype=np.uint8) for _ in range(3)]
    wide = [rng.integers(0, 256, (2, 9, 3), dtype=np.uint8)[:, ::2]]  # a non-contiguous view
    views = staging.upload(staging.fill([small, wide]), torch.device("cpu"))
    assert [tuple(v.shape) for v in views] == [(3, 4, 6, 3), (1, 2, 5, 3)]
    assert np.array_equal(views[0].numpy(), np.stack(small))
    assert np.array_equal(views[1].numpy(), np.stack(wide))
    first = staging.buffer.data_ptr()
    staging.fill([small[:1]])
    assert staging.buffer.data_ptr() == first  # a batch that fits reuses the buffer
    big = [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)]
    (view,) = staging.fill([big])
    assert staging.buffer.numel() >= big[0].size and np.array_equal(view.numpy()[0], big[0])


def test_contiguous_runs_of_a_groups_frame_indices():
    assert contiguous_runs([0, 1, 2, 5, 6, 9]) == [(0, 0, 3), (5, 3, 2), (9, 5, 1)]
    assert contiguous_runs([3]) == [(3, 0, 1)] and contiguous_runs([]) == []


def test_torch_backend_gives_the_same_boxes_before_and_after_its_staging_buffer_grows(frames):
    detector = TorchDetector(ROAD_ONNX, DetectorOptions(conf=0.2, batch=8), device="cpu")
    before = detector.predict(frames[:2])
    big = [cv2.resize(f, (1280, 720)) for f in frames[2:5]]
    size = detector.staging.buffer.numel()
    detector.predict(big)
    assert detector.staging.buffer.numel() > size
    after = detector.predict(frames[:2])
    assert sum(len(d) for d in before) > 0
    for a, b in zip(before, after, strict=True):
        assert np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.confidence, b.confidence)


def test_frames_of_interleaved_sizes_keep_their_own_boxes(frames):
    detector = TorchDetector(ROAD_ONNX, DetectorOptions(conf=0.2), device="cpu")
    wide = [cv2.resize(f, (640, 360)) for f in frames[:3]]
    batch = [frames[0], wide[0], frames[1], wide[1], wide[2], frames[2]]
    together = detector.predict(batch)
    for frame, detections in zip(batch, together, strict=True):
        (alone,) = detector.predict([frame])
        assert len(alone) == len(detections)
        assert np.abs(alone.xyxy - detections.xyxy).max(initial=0) < 1e-3


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
