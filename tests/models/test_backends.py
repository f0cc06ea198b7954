"""Letterboxing, YOLO output decoding and NMS of the torch-free backends."""

import numpy as np
import pytest

from tenken.errors import ModelError
from vision.backends.letterbox import letterbox, to_blob
from vision.backends.postprocess import box_iou, decode_yolo, nms
from vision.backends.yolo_runtime import names_from_metadata
from vision.models.detector import load_detector, weights_format


def test_letterbox_pads_a_wide_frame_top_and_bottom():
    frame = np.zeros((240, 640, 3), np.uint8)
    out, t = letterbox(frame, 320)
    assert out.shape == (320, 320, 3)
    assert t.scale == pytest.approx(0.5) and t.pad_x == 0 and t.pad_y == 100
    assert (out[0, 0] == 114).all() and (out[160, 160] == 0).all()


def test_letterbox_transform_maps_boxes_back_to_the_frame():
    frame = np.zeros((240, 640, 3), np.uint8)
    _, t = letterbox(frame, 320)
    box = np.array([[10.0, 110.0, 110.0, 150.0]], np.float32)  # in model pixels
    assert t.to_frame(box, 640, 240).tolist() == [[20.0, 20.0, 220.0, 100.0]]


def test_blob_is_rgb_nchw_in_unit_range():
    img = np.zeros((2, 2, 3), np.uint8)
    img[..., 0] = 255  # blue in BGR
    blob = to_blob([img])
    assert blob.shape == (1, 3, 2, 2)
    assert blob[0, 2].max() == 1.0 and blob[0, 0].max() == 0.0


def test_iou_of_identical_disjoint_and_half_overlapping_boxes():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [5, 0, 15, 10]], np.float32)
    assert box_iou(a, b)[0].tolist() == pytest.approx([1.0, 0.0, 1 / 3])


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.6, 0.9, 0.5], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]


def _raw(preds):
    """Build a (4 + nc, anchors) head output from (cx, cy, w, h, scores...) rows."""
    return np.array(preds, np.float32).T


def test_decode_applies_threshold_and_per_class_nms():
    out = _raw(
        [
            [50, 50, 20, 20, 0.9, 0.1],
            [51, 51, 20, 20, 0.1, 0.8],  # same place, other class: kept unless agnostic
            [52, 50, 20, 20, 0.7, 0.0],  # duplicate of the first: suppressed
            [150, 150, 10, 10, 0.2, 0.1],  # below threshold
        ]
    )
    xyxy, conf, cls = decode_yolo(out, 0.25, 0.45)
    assert cls.tolist() == [0, 1] and conf.tolist() == pytest.approx([0.9, 0.8])
    assert xyxy[0].tolist() == [40, 40, 60, 60]
    _, _, cls_agnostic = decode_yolo(out, 0.25, 0.45, agnostic=True)
    assert cls_agnostic.tolist() == [0]


def test_decode_with_nothing_above_threshold_is_empty():
    xyxy, conf, cls = decode_yolo(_raw([[5, 5, 2, 2, 0.1, 0.1]]), 0.5, 0.45)
    assert xyxy.shape == (0, 4) and len(conf) == 0 and len(cls) == 0


def test_names_from_ultralytics_metadata_string():
    assert names_from_metadata("{0: 'D00', 1: 'D10'}") == ("D00", "D10")


def test_missing_weights_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="weights not found"):
        load_detector(tmp_path / "nope.onnx")


def test_unknown_weights_format_is_a_model_error(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    with pytest.raises(ModelError, match="unknown weights format"):
        weights_format(path)


def test_garbage_onnx_file_is_a_model_error(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        load_detector(path)


def test_weights_format_follows_the_device_setting():
    from vision.models.device import cuda_problem
    from vision.models.registry import FORMAT_PREFERENCE, GPU_FORMAT_PREFERENCE, format_preference

    assert format_preference("cpu") == FORMAT_PREFERENCE and FORMAT_PREFERENCE[0] == "openvino"
    assert GPU_FORMAT_PREFERENCE[0] == "onnx"  # run by the torch backend on the GPU
    gpu = cuda_problem() is None
    assert format_preference("auto") == (GPU_FORMAT_PREFERENCE if gpu else FORMAT_PREFERENCE)
