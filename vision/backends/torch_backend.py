"""torch backend: the GPU path (`tenken[gpu]`). The whole batch stays on the device from upload to NMS.

Frames go up as uint8 (a quarter of the bytes of float) in one copy per batch from a reused
pinned buffer, are letterboxed, flipped to RGB and normalised there with a few tensor ops per frame
size (none per frame), run through the ONNX export rebuilt as a torch module (`onnx_torch_graph`)
in fp16, and are decoded with one `torchvision.ops.batched_nms` call for the whole batch; only the
kept boxes come back to the host. On a CPU (tests) the same code runs in fp32.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
import torchvision

from tenken.errors import ModelError
from vision.backends.letterbox import PAD_VALUE
from vision.backends.onnx_torch_graph import OnnxGraphModule
from vision.backends.yolo_runtime import imgsz_from_metadata, names_from_metadata
from vision.models.detections import Detections
from vision.models.detector import DetectorOptions, Frame

MAX_DETECTIONS = 300  # per frame, as the numpy decoder
# Batches are padded up to one of these sizes: cuDNN tunes its kernels once per input shape, and a
# live batch can have any size; these waste at most a third of a batch.
BATCH_BUCKETS = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def padded_batch(n: int) -> int:
    """The bucket size a batch of `n` frames runs at (n itself past the largest bucket)."""
    return next((b for b in BATCH_BUCKETS if b >= n), n)


def letterbox_geometry(height: int, width: int, size: int) -> tuple[float, int, int, int, int]:
    """(scale, new_w, new_h, left, top) exactly as `letterbox.letterbox` computes them."""
    scale = min(size / height, size / width)
    new_w, new_h = round(width * scale), round(height * scale)
    left, top = round((size - new_w) / 2 - 0.1), round((size - new_h) / 2 - 0.1)
    return scale, new_w, new_h, left, top


@dataclass(frozen=True)
class BatchGeometry:
    """Where each frame of a batch sits in its letterboxed input, as float32 arrays on the host."""

    scale: npt.NDArray[np.float32]  # (N,) input pixels per frame pixel
    pad: npt.NDArray[np.float32]  # (N, 2) left, top
    size: npt.NDArray[np.float32]  # (N, 2) frame width, height


class HostStaging:
    """One host buffer that a batch's uint8 frames are copied into for a single upload.

    Pinned once (on CUDA) and grown when a batch needs more, instead of a pinned allocation per
    batch. `fill` waits for the previous batch's upload from it to finish before overwriting it.
    """

    def __init__(self, pin: bool) -> None:
        self.pin = pin
        self.buffer = torch.empty(0, dtype=torch.uint8, pin_memory=pin)
        self._uploaded: torch.cuda.Event | None = None

    def fill(self, groups: Sequence[Sequence[Frame]]) -> list[torch.Tensor]:
        """Each group (frames of one shape) stacked into the buffer: one (n, H, W, 3) view per group."""
        if self._uploaded is not None:
            self._uploaded.synchronize()
        sizes = [len(g) * g[0].size for g in groups]
        if sum(sizes) > self.buffer.numel():
            self.buffer = torch.empty(
                max(sum(sizes), 2 * self.buffer.numel()), dtype=torch.uint8, pin_memory=self.pin
            )
        host = self.buffer.numpy()
        views: list[torch.Tensor] = []
        offset = 0
        for group, size in zip(groups, sizes, strict=True):
            view = host[offset : offset + size].reshape(len(group), *group[0].shape)
            np.stack(group, out=view)
            views.append(self.buffer[offset : offset + size].view(view.shape))
            offset += size
        return views

    def upload(self, views: list[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
        """The filled views on `device` (one copy for all of them); the views themselves on the CPU."""
        if device.type != "cuda" or not views:
            return views
        used = sum(v.numel() for v in views)
        flat = self.buffer[:used].to(device, non_blocking=True)
        self._uploaded = torch.cuda.Event()
        self._uploaded.record(torch.cuda.current_stream(device))  # the stream the copy went on
        out, offset = [], 0
        for v in views:
            out.append(flat[offset : offset + v.numel()].view(v.shape))
            offset += v.numel()
        return out


def contiguous_runs(indices: Sequence[int]) -> list[tuple[int, int, int]]:
    """(first index, position in `indices`, length) of each run of consecutive indices.

    >>> contiguous_runs([0, 1, 2, 5, 6, 9])
    [(0, 0, 3), (5, 3, 2), (9, 5, 1)]
    """
    runs: list[tuple[int, int, int]] = []
    for k, i in enumerate(indices):
        if runs and runs[-1][0] + runs[-1][2] == i:
            first, position, length = runs[-1]
            runs[-1] = (first, position, length + 1)
        else:
            runs.append((i, k, 1))
    return runs


class TorchDetector:
    """YOLO detection with torch on `device` ("cuda", "cuda:1" or "cpu"); fp16 on CUDA.

    Not for concurrent use: one thread at a time runs its batches (a lock makes others wait).
    """

    backend = "torch"

    def __init__(
        self, path: Path, options: DetectorOptions = DetectorOptions(), device: str = "cuda"
    ) -> None:
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ModelError(f"torch {torch.__version__} sees no CUDA device for {device!r}")
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        module = OnnxGraphModule(path)
        meta = module.info.metadata
        self.names = options.names or names_from_metadata(meta.get("names", "{}"))
        self.imgsz = options.imgsz or imgsz_from_metadata(meta.get("imgsz")) or module.info.imgsz
        self.conf, self.iou = options.conf, options.iou
        self.agnostic_nms, self.batch = options.agnostic_nms, max(1, options.batch)
        self.model = module.to(self.device, self.dtype).eval()
        self.memory_format = torch.contiguous_format
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels
            self.memory_format = torch.channels_last
            self.model = self.model.to(memory_format=self.memory_format)
        self.staging = HostStaging(pin=self.device.type == "cuda")
        self._lock = threading.Lock()
        self.provider = f"torch {torch.__version__} {self.device} {str(self.dtype).removeprefix('torch.')}"
        if self.device.type == "cuda":
            self.provider += f" ({torch.cuda.get_device_name(self.device)})"

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        threshold = self.conf if conf is None else conf
        results: list[Detections] = []
        for start in range(0, len(frames), self.batch):
            results.extend(self._predict_batch(frames[start : start + self.batch], threshold))
        return results

    @torch.inference_mode()
    def _predict_batch(self, frames: Sequence[Frame], threshold: float) -> list[Detections]:
        with self._lock:
            blob, geometry = self.preprocess(frames, rows=padded_batch(len(frames)))
            raw = self.model(blob)[: len(frames)]
            return self.postprocess(raw, geometry, threshold)

    @torch.inference_mode()
    def warm_up(self) -> None:
        """Run every batch bucket up to `batch` once, so no caller waits for cuDNN's tuning.

        Call it from the thread that will call `predict`: cuDNN keeps its tuned kernels per thread.
        """
        size = self.imgsz
        for b in BATCH_BUCKETS:
            if b > padded_batch(self.batch):
                break
            x = torch.zeros((b, 3, size, size), dtype=self.dtype, device=self.device)
            self.model(x.contiguous(memory_format=self.memory_format))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def preprocess(
        self, frames: Sequence[Frame], rows: int | None = None
    ) -> tuple[torch.Tensor, BatchGeometry]:
        """(rows,3,S,S) letterboxed RGB in [0,1] (rows past the frames are zeros) and where each frame sits.

        Frames go up once per batch as uint8, grouped by shape; each group is flipped to RGB and
        converted while it is copied into place, resized and padded only when its size needs it.
        """
        size, n = self.imgsz, len(frames)
        rows = n if rows is None else rows
        shape = (rows, 3, size, size)
        blob = torch.empty(shape, dtype=self.dtype, device=self.device, memory_format=self.memory_format)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, frame in enumerate(frames):
            by_shape.setdefault(frame.shape, []).append(i)
        groups = list(by_shape.values())
        uploaded = self.staging.upload(
            self.staging.fill([[frames[i] for i in g] for g in groups]), self.device
        )
        scale = np.empty(n, np.float32)
        pad = np.empty((n, 2), np.float32)
        frame_size = np.empty((n, 2), np.float32)
        for indices, images in zip(groups, uploaded, strict=True):
            height, width = images.shape[1:3]
            s, new_w, new_h, left, top = letterbox_geometry(height, width, size)
            scale[indices], pad[indices], frame_size[indices] = s, (left, top), (width, height)
            if (new_w, new_h) != (width, height):
                resized = torch.empty((len(indices), 3, height, width), dtype=self.dtype, device=self.device)
                for c in range(3):  # BGR -> RGB while converting
                    resized[:, c].copy_(images[..., 2 - c])
                resized = F.interpolate(resized, size=(new_h, new_w), mode="bilinear", align_corners=False)
                resized = resized.round_()
            for first, position, length in contiguous_runs(indices):
                region = blob[first : first + length]
                inner = region[:, :, top : top + new_h, left : left + new_w]
                if (new_w, new_h) != (width, height):
                    inner.copy_(resized[position : position + length])
                else:
                    for c in range(3):
                        inner[:, c].copy_(images[position : position + length, ..., 2 - c])
                for strip in (
                    region[:, :, :top],
                    region[:, :, top + new_h :],
                    region[:, :, top : top + new_h, :left],
                    region[:, :, top : top + new_h, left + new_w :],
                ):
                    if strip.numel():
                        strip.fill_(float(PAD_VALUE))
        blob[:n].div_(255.0)
        if rows > n:
            blob[n:].zero_()
        return blob, BatchGeometry(scale, pad, frame_size)

    def postprocess(self, raw: torch.Tensor, geometry: BatchGeometry, threshold: float) -> list[Detections]:
        """Raw head output (N, 4 + nc, anchors) -> one `Detections` per frame, in frame pixels."""
        n = len(geometry.scale)
        preds = raw.float().transpose(1, 2)  # (N, anchors, 4 + nc)
        scores, class_id = preds[..., 4:].max(dim=2)
        image, anchor = (scores >= threshold).nonzero(as_tuple=True)
        xywh = preds[image, anchor, :4]
        xyxy = torch.cat((xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2), dim=1)
        score, cls = scores[image, anchor], class_id[image, anchor]
        groups = image if self.agnostic_nms else image * preds.shape[2] + cls
        keep = torchvision.ops.batched_nms(xyxy, score, groups, self.iou)  # best score first
        keep = keep[torch.sort(image[keep], stable=True).indices]  # by frame, best score first
        kept_image = image[keep]
        counts = torch.bincount(kept_image, minlength=n)
        rank = torch.arange(len(keep), device=keep.device) - (torch.cumsum(counts, 0) - counts)[kept_image]
        keep = keep[rank < MAX_DETECTIONS]
        table = torch.cat((xyxy[keep], score[keep, None], cls[keep, None].float()), dim=1).cpu().numpy()
        per_frame = np.minimum(counts.cpu().numpy(), MAX_DETECTIONS)
        # Back to frame pixels on the host: the kept rows are few, and sorted by frame.
        frame_of_row = np.repeat(np.arange(n), per_frame)
        pad = np.tile(geometry.pad, 2)[frame_of_row]
        boxes = (table[:, :4] - pad) / geometry.scale[frame_of_row, None]
        boxes = np.minimum(np.maximum(boxes, np.float32(0)), np.tile(geometry.size, 2)[frame_of_row])
        results: list[Detections] = []
        start = 0
        for count in per_frame.tolist():
            stop = start + count
            results.append(
                Detections(
                    np.ascontiguousarray(boxes[start:stop], dtype=np.float32),
                    np.ascontiguousarray(table[start:stop, 4], dtype=np.float32),
                    table[start:stop, 5].astype(np.int64),
                    self.names,
                )
            )
            start = stop
        return results
