"""Formats a runtime builds once from a shipped ONNX file, into Tenken's cache: OpenVINO IR and `.pt`.

Only the ONNX file of each model is committed (every retrain adds the weights to the history of every
clone). The OpenVINO IR is converted from it on first use (OpenVINO is a runtime dependency); the
`.pt` is rebuilt from its tensors when torch and ultralytics are installed (`tenken[train]`). Each
build lands in a folder named after the ONNX file's content hash, written to a temporary folder and
renamed, so processes building at once and a retrained model never see a half-written or stale copy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from tenken.errors import ModelError
from vision.train.offline import cache_dir

log = logging.getLogger(__name__)


def models_cache_dir() -> Path:
    return cache_dir() / "models"


def _content_key(onnx_path: Path) -> str:
    digest = hashlib.sha256()
    with onnx_path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _build_once(onnx_path: Path, what: str, build: Callable[[Path], None]) -> Path:
    """`<cache>/models/<stem>-<hash>/<what>`, calling `build(tmp_folder)` to make it when absent."""
    folder = models_cache_dir() / f"{onnx_path.stem}-{_content_key(onnx_path)}"
    target = folder / what
    if target.exists():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{what}-", dir=folder))
    except OSError as exc:
        raise ModelError(
            f"cannot write the model cache {folder} ({exc.strerror}); set XDG_CACHE_HOME to a writable folder"
        ) from None
    try:
        log.info("building %s from %s (once)", what, onnx_path)
        build(tmp)
        try:
            os.rename(tmp / what, target)
        except OSError:
            if not target.exists():  # another process may have won the race; that copy is as good
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _onnx_metadata(onnx_path: Path) -> dict[str, str]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return dict(session.get_modelmeta().custom_metadata_map)


def openvino_from_onnx(onnx_path: Path) -> Path:
    """The OpenVINO IR folder (model + metadata.yaml, as ultralytics exports it) for `onnx_path`."""
    import ast

    import yaml

    name = onnx_path.stem

    def build(tmp: Path) -> None:
        import openvino as ov

        out = tmp / f"{name}_openvino_model"
        out.mkdir()
        try:
            model = ov.convert_model(str(onnx_path))
        except Exception as exc:  # openvino raises untyped errors for bad files
            raise ModelError(f"{onnx_path}: OpenVINO cannot read it ({str(exc).splitlines()[0]})") from None
        ov.save_model(model, str(out / f"{name}.xml"), compress_to_fp16=True)
        meta = _onnx_metadata(onnx_path)
        doc = {
            "task": meta.get("task", "detect"),
            "names": {int(k): str(v) for k, v in ast.literal_eval(meta.get("names", "{}")).items()},
            "imgsz": list(ast.literal_eval(meta.get("imgsz", "[640, 640]"))),
            "batch": int(meta.get("batch", 1)),
            "stride": int(meta.get("stride", 32)),
            "source": f"converted by Tenken from {onnx_path.name}",
        }
        (out / "metadata.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))

    return _build_once(onnx_path, f"{name}_openvino_model", build)


def pt_from_onnx(onnx_path: Path) -> Path:
    """A `.pt` rebuilt from `onnx_path` for the ultralytics backend (needs `tenken[train]`)."""
    name = onnx_path.stem

    def build(tmp: Path) -> None:
        try:
            from vision.train.rebuild import pt_from_onnx as rebuild
        except ImportError:
            raise ModelError(
                f"{onnx_path}: .pt weights need torch and ultralytics (pip install 'tenken[train]')"
            ) from None
        try:
            rebuild(onnx_path, tmp / f"{name}.pt")
        except ImportError:
            raise ModelError(
                f"{onnx_path}: .pt weights need torch, ultralytics and onnx (pip install 'tenken[train]')"
            ) from None

    return _build_once(onnx_path, f"{name}.pt", build)
