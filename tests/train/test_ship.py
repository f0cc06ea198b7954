"""`tenken models ship`: one command turns a trained best.pt into exactly the committed model folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import pytest

from tenken.cli import main
from vision.models.registry import get_model, list_models


@pytest.mark.slow
def test_ship_writes_the_onnx_the_threshold_chosen_on_val_and_the_failures(
    disaster_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    best = tmp_path / "best.pt"
    shutil.copyfile(get_model("fire").weights_path("pt"), best)  # stands in for a trained checkpoint
    out = tmp_path / "models" / "fire"
    out.mkdir(parents=True)
    (out / "MODEL_CARD.md").write_text("the author's card\n")
    args = [
        "models",
        "ship",
        "fire",
        str(best),
        "--data",
        str(disaster_tiny / "data.yaml"),
        "--out",
        str(out),
    ]
    assert main([*args, "--version", "2.0.0", "--licence", "AGPL-3.0 (test)"]) == 0
    printed = capsys.readouterr().out
    assert "shipped threshold" in printed and "at most 5% of images without labels alerting" in printed
    # exactly the committed form: one weights file, fp16-stored, plus the descriptions
    assert sorted(p.name for p in out.iterdir()) == [
        "MODEL_CARD.md",
        "failures",
        "fire.onnx",
        "metrics.json",
        "model.json",
    ]
    assert any(
        i.data_type == onnx.TensorProto.FLOAT16 for i in onnx.load(str(out / "fire.onnx")).graph.initializer
    )
    meta = json.loads((out / "model.json").read_text())
    assert meta["weights"] == {"onnx": "fire.onnx"} and meta["version"] == "2.0.0"
    point = meta["operating_point"]
    assert meta["conf"] == point["conf"] and point["negatives"] == 2 and point["split"] == "val"
    assert point["max_false_alarm_rate"] == 0.05 and set(point["recall"]) == {"fire", "smoke"}
    metrics = json.loads((out / "metrics.json").read_text())
    f1 = {fmt: doc["f1"] for fmt, doc in metrics["formats"].items()}
    assert set(f1) == {"onnx", "openvino", "pt"} and max(f1.values()) - min(f1.values()) < 0.1
    assert "image_level" in metrics["formats"]["onnx"]["at_shipped_conf"]
    assert (out / "failures" / "index.md").is_file()
    assert (out / "MODEL_CARD.md").read_text() == "the author's card\n"
    # the registry reads it back, and a second ship keeps version and licence from model.json
    assert [m.conf for m in list_models(tmp_path / "models")] == [point["conf"]]
    assert (
        main(
            [
                "models",
                "ship",
                "fire",
                str(best),
                "--data",
                str(disaster_tiny / "data.yaml"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads((out / "model.json").read_text())["licence"] == "AGPL-3.0 (test)"


def test_ship_into_a_new_folder_without_a_version_is_one_clear_line(
    disaster_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    best = tmp_path / "best.pt"
    best.write_bytes(b"")
    args = ["models", "ship", "fire", str(best), "--data", str(disaster_tiny), "--out", str(tmp_path / "new")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give --version and --licence" in err[0]
