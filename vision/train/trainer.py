"""Train a detector with ultralytics under Tenken's offline settings, from the rebuilt COCO weights."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenken.errors import ConfigError, DataError
from vision.train.datasets import read_datasets, read_image, write_yolo_layout
from vision.train.offline import configure_offline_ultralytics
from vision.train.pretrained import letterbox_batch, pretrained_path, recalibrate_batchnorm, save_checkpoint
from vision.train.tasks import TaskSpec

log = logging.getLogger(__name__)
MODEL_SIZES = ("n", "s", "m")
CALIBRATION_IMAGES = 32


@dataclass(frozen=True)
class TrainPlan:
    """Everything one training run needs; `run_dir` holds the converted data, start weights and results."""

    task: TaskSpec
    data: tuple[Path, ...]
    run_dir: Path
    epochs: int
    imgsz: int
    model_size: str = "n"
    pretrained: bool = True
    extra_classes: tuple[str, ...] = ()
    batch: int = 16
    workers: int = 2
    fraction: float = 1.0
    close_mosaic: int = 3
    onnx: Path | None = None
    seed: int = 0

    @property
    def classes(self) -> tuple[str, ...]:
        return self.task.classes + self.extra_classes


def pick_device() -> str:
    """The first CUDA GPU when torch sees one, else the CPU."""
    import torch

    return "0" if torch.cuda.is_available() else "cpu"


def prepare_data(plan: TrainPlan) -> Path:
    samples = read_datasets(plan.data, plan.task.policy(plan.extra_classes))
    return write_yolo_layout(samples, plan.classes, plan.run_dir / "data")


def start_weights(plan: TrainPlan, data_yaml: Path) -> str:
    """The checkpoint training starts from: rebuilt COCO weights with BN recalibrated on the train images."""
    if not plan.pretrained:
        return f"yolov8{plan.model_size}.yaml"
    if plan.model_size != "n":
        raise ConfigError(
            f"only yolov8n has offline starting weights; use --model n or --scratch for {plan.model_size}"
        )
    import torch

    images = sorted((data_yaml.parent / "images" / "train").iterdir())
    chosen = random.Random(plan.seed).sample(images, min(CALIBRATION_IMAGES, len(images)))
    frames = [read_image(p) for p in chosen]
    ckpt = torch.load(pretrained_path(plan.onnx), map_location="cpu", weights_only=False)
    model = ckpt["model"].float()
    recalibrate_batchnorm(model, letterbox_batch(frames, plan.imgsz))
    return str(save_checkpoint(model, plan.run_dir / "start.pt"))


def last_checkpoint(run_dir: Path) -> Path:
    return run_dir / "train" / "weights" / "last.pt"


def train(plan: TrainPlan, *, resume: bool = False, **overrides: Any) -> Path:
    """Run (or resume) training; returns the best checkpoint."""
    configure_offline_ultralytics()
    from ultralytics import YOLO

    device = pick_device()
    if resume:
        last = last_checkpoint(plan.run_dir)
        if not last.is_file():
            raise ConfigError(f"nothing to resume: {last} does not exist")
        YOLO(str(last)).train(resume=True, device=device, workers=plan.workers)
    else:
        plan.run_dir.mkdir(parents=True, exist_ok=True)
        data_yaml = prepare_data(plan)
        model = YOLO(start_weights(plan, data_yaml))
        args: dict[str, Any] = {
            "data": str(data_yaml),
            "epochs": plan.epochs,
            "imgsz": plan.imgsz,
            "batch": plan.batch,
            "workers": plan.workers,
            "device": device,
            "amp": device != "cpu",
            "plots": False,
            "project": str(plan.run_dir.resolve()),
            "name": "train",
            "exist_ok": True,
            "fraction": plan.fraction,
            "close_mosaic": plan.close_mosaic,
            "seed": plan.seed,
            "save_period": -1,
            "verbose": False,
        }
        args.update(overrides)
        model.train(**args)
    best = plan.run_dir / "train" / "weights" / "best.pt"
    if not best.is_file():
        raise DataError(f"training produced no weights in {best.parent}")
    return best


def default_run_dir(task: str, runs_root: Path = Path("runs")) -> Path:
    return runs_root / task


def plan_from_cli(
    task: TaskSpec,
    data: Sequence[Path],
    *,
    epochs: int | None,
    imgsz: int | None,
    model_size: str,
    scratch: bool,
    run_dir: Path | None,
    extra_classes: Sequence[str] = (),
    batch: int = 16,
    onnx: Path | None = None,
) -> TrainPlan:
    if model_size not in MODEL_SIZES:
        raise ConfigError(f"--model must be one of {', '.join(MODEL_SIZES)}, not {model_size!r}")
    for extra in extra_classes:
        if extra not in task.dropped:
            raise ConfigError(f"--extra-class {extra!r} is not a known extra label of the {task.name} task")
    return TrainPlan(
        task=task,
        data=tuple(data),
        run_dir=run_dir or default_run_dir(task.name),
        epochs=epochs or task.epochs,
        imgsz=imgsz or task.imgsz,
        model_size=model_size,
        pretrained=not scratch,
        extra_classes=tuple(extra_classes),
        batch=batch,
        close_mosaic=task.close_mosaic,
        onnx=onnx,
    )
