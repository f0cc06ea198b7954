"""torch backend: the GPU path (`tenken[gpu]`). The whole batch stays on the device from upload to NMS.

Frames go up as uint8 (a quarter of the bytes of float), are letterboxed, flipped to RGB and
normalised there as tensor ops, run through the ONNX export rebuilt as a torch module
(`onnx_torch_graph`) in fp16, and are decoded with one `torchvision.ops.batched_nms` call for the
whole batch; only the kept boxes come back to the host. On a CPU (tests) the same code runs in fp32.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
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


class TorchDetector:
    """YOLO detection with torch on `device` ("cuda", "cuda:1" or "cpu"); fp16 on CUDA."""

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
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels
            self.model = self.model.to(memory_format=torch.channels_last)
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
        blob, scale, pad = self.preprocess(frames)
        padded = padded_batch(len(frames))
        if padded > len(frames):
            blob = torch.cat((blob, blob.new_zeros((padded - len(frames), *blob.shape[1:]))))
            blob = blob.contiguous(memory_format=torch.channels_last) if self.device.type == "cuda" else blob
        raw = self.model(blob)[: len(frames)]
        return self.postprocess(raw, scale, pad, frames, threshold)

    @torch.inference_mode()
    def warm_up(self) -> None:
        """Run every batch bucket up to `batch` once, so no caller waits for cuDNN's tuning."""
        size = self.imgsz
        for b in BATCH_BUCKETS:
            if b > padded_batch(self.batch):
                break
            x = torch.zeros((b, 3, size, size), dtype=self.dtype, device=self.device)
            if self.device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            self.model(x)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def upload(self, frames: Sequence[Frame]) -> list[torch.Tensor]:
        """Frames as uint8 HWC tensors on the device, one stacked upload per frame size."""
        out: list[torch.Tensor] = [torch.empty(0)] * len(frames)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, frame in enumerate(frames):
            by_shape.setdefault(frame.shape, []).append(i)
        pin = self.device.type == "cuda"
        for shape, indices in by_shape.items():
            host = torch.empty((len(indices), *shape), dtype=torch.uint8, pin_memory=pin)
            for k, i in enumerate(indices):  # torch copies large tensors on several threads
                host[k].copy_(torch.from_numpy(np.ascontiguousarray(frames[i])))
            device_batch = host.to(self.device, non_blocking=pin)
            for k, i in enumerate(indices):
                out[i] = device_batch[k]
        return out

    def preprocess(self, frames: Sequence[Frame]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N,3,S,S) letterboxed RGB in [0,1], per-frame scale (N,) and pad (N,2) as x, y."""
        size = self.imgsz
        uploaded = self.upload(frames)
        blob = torch.empty((len(frames), 3, size, size), dtype=self.dtype, device=self.device)
        scales, pads = [], []
        groups: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            groups.setdefault((frame.shape[0], frame.shape[1]), []).append(i)
        for (height, width), indices in groups.items():
            scale, new_w, new_h, left, top = letterbox_geometry(height, width, size)
            images = torch.stack([uploaded[i] for i in indices]).permute(0, 3, 1, 2)[:, [2, 1, 0]]
            images = images.to(self.dtype)
            if (new_w, new_h) != (width, height):
                images = F.interpolate(images, size=(new_h, new_w), mode="bilinear", align_corners=False)
            right, bottom = size - new_w - left, size - new_h - top
            images = F.pad(images, (left, right, top, bottom), value=float(PAD_VALUE))
            index = torch.tensor(indices, device=self.device)
            blob.index_copy_(0, index, images.round().div_(255.0))
            for i in indices:
                scales.append((i, scale))
                pads.append((i, (float(left), float(top))))
        scale_t = torch.tensor([s for _, s in sorted(scales)], dtype=torch.float32, device=self.device)
        pad_t = torch.tensor([p for _, p in sorted(pads)], dtype=torch.float32, device=self.device)
        if self.device.type == "cuda":
            blob = blob.contiguous(memory_format=torch.channels_last)
        return blob, scale_t, pad_t

    def postprocess(
        self,
        raw: torch.Tensor,
        scale: torch.Tensor,
        pad: torch.Tensor,
        frames: Sequence[Frame],
        threshold: float,
    ) -> list[Detections]:
        """Raw head output (N, 4 + nc, anchors) -> one `Detections` per frame, in frame pixels."""
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
        counts = torch.bincount(kept_image, minlength=len(frames))
        rank = torch.arange(len(keep), device=keep.device) - (torch.cumsum(counts, 0) - counts)[kept_image]
        keep, kept_image = keep[rank < MAX_DETECTIONS], kept_image[rank < MAX_DETECTIONS]
        boxes = (xyxy[keep] - pad[kept_image].repeat(1, 2)) / scale[kept_image, None]
        sizes = torch.tensor(
            [(f.shape[1], f.shape[0]) for f in frames], device=boxes.device, dtype=boxes.dtype
        )
        limit = sizes[kept_image].repeat(1, 2)
        boxes = torch.minimum(boxes.clamp(min=0), limit)
        table = torch.cat((boxes, score[keep, None], cls[keep, None].float()), dim=1).cpu().numpy()
        per_frame = torch.bincount(kept_image, minlength=len(frames)).cpu().tolist()
        results: list[Detections] = []
        start = 0
        for n in per_frame:
            rows = table[start : start + n]
            start += n
            results.append(
                Detections(
                    np.ascontiguousarray(rows[:, :4], dtype=np.float32),
                    np.ascontiguousarray(rows[:, 4], dtype=np.float32),
                    rows[:, 5].astype(np.int64),
                    self.names,
                )
            )
        return results
