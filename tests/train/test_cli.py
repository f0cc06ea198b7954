"""`tenken train`, `tenken eval` and `tenken models` from the command line, including bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenken.cli import main
from vision.models.registry import get_model


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
    assert "[pt*,onnx,openvino*]" in road and "built from the ONNX file" in out


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


def test_eval_says_which_split_it_scored_and_writes_image_level_figures(
    disaster_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    args = ["eval", "fire:onnx", "--data", str(disaster_tiny / "data.yaml"), "--json", str(out)]
    assert main([*args, "--choose-threshold", "--failures", str(tmp_path / "failures")]) == 0
    printed = capsys.readouterr().out
    assert "scoring the val split of --data: 10 images" in printed and "operating point: conf=" in printed
    doc = json.loads(out.read_text())
    assert doc["split"] == "val" and doc["image_level"]["any"]["images_without"] == 2
    assert doc["image_level"]["fire"]["images_with"] == 4
    point = doc["operating_point"]
    assert point["negatives"] == 2 and 0 < point["conf"] < 1 and set(point["recall"]) == {"fire", "smoke"}
    assert len(list((tmp_path / "failures").glob("*.jpg"))) <= 12


def test_scene_eval_of_a_plain_folder_scores_every_image_as_normal(
    pavement_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scene.json"
    assert main(["eval", "scene:onnx", "--data", str(pavement_tiny / "images"), "--json", str(out)]) == 0
    assert "scoring every image of --data: 10 images (default: no split files)" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    alerts = doc["alerts"]
    assert alerts["threshold"] == get_model("scene").alert_conf  # the shipped model's own alert threshold
    assert alerts["false_alarm_rate_on_normal"]["images"] == 10
    assert {"fire", "landslide", "smoke", "any"} <= set(alerts["false_alarm_rate_on_normal"])


def test_eval_with_a_bad_split_is_one_clear_line(
    disaster_tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "fire:onnx", "--data", str(disaster_tiny), "--split", "test"]) == 2
    assert "--split must be one of val, all, train" in one_error_line(capsys)
