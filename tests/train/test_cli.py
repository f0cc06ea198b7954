"""`tenken train`, `tenken eval` and `tenken models` from the command line, including bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenken.cli import main


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_train_with_a_missing_data_path_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", "road", "--data", str(tmp_path / "nope"), "--run-dir", str(tmp_path / "run")])
    assert code == 2
    assert "dataset not found" in one_error_line(capsys)


def test_eval_with_a_data_yaml_naming_absent_folders_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [fire, smoke]\n")
    code = main(["train", "fire", "--data", str(tmp_path / "data.yaml"), "--run-dir", str(tmp_path / "r")])
    assert code == 2
    assert "does not exist" in one_error_line(capsys)


def test_voc_with_an_unknown_class_is_one_clear_line(
    pavement_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = next((pavement_tiny / "annotations").glob("*.xml"))
    xml.write_text(xml.read_text().replace("<name>D00</name>", "<name>manhole</name>", 1))
    code = main(["train", "road", "--data", str(pavement_tiny), "--run-dir", str(tmp_path / "run")])
    assert code == 2
    assert "unknown class 'manhole'" in one_error_line(capsys)


def test_unknown_task_and_missing_weights_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "boats", "--data", str(tmp_path)]) == 2
    assert "unknown model task" in one_error_line(capsys)
    assert main(["eval", str(tmp_path / "x.onnx"), "--data", str(tmp_path)]) == 2
    assert "not found" in one_error_line(capsys)


@pytest.mark.slow
def test_train_one_epoch_on_the_tiny_voc_fixture(pavement_tiny: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "road", "--data", str(pavement_tiny), "--epochs", "1", "--imgsz", "160"]
    assert main([*args, "--batch", "4", "--run-dir", str(run)]) == 0
    assert (run / "train" / "weights" / "best.pt").is_file()
    # the VOC folder was converted, Repair dropped
    assert json.dumps(sorted((run / "data" / "data.yaml").read_text().split())).count("Repair") == 0


def test_models_lists_the_shipped_models_with_metrics_and_licence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    road = next(line for line in out.splitlines() if line.startswith("road"))
    assert "D00,D10,D20,D40" in road and "f1=" in road and "CC BY-SA 4.0" in road


def test_models_pretrained_rebuilds_from_a_given_onnx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vision.train.pretrained import FETCH_HINT, find_coco_onnx

    source = find_coco_onnx()
    assert source is not None, FETCH_HINT
    assert main(["models", "pretrained", "--onnx", str(source)]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()


def test_models_pretrained_with_a_missing_onnx_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "pretrained", "--onnx", str(tmp_path / "yolov8n.onnx")]) == 2
    assert "COCO ONNX not found" in one_error_line(capsys)
