"""`sqzdse train`: JSON and text output, architecture flags, data options and error exits."""

from __future__ import annotations

import json
import re

import pytest
import torch
from PIL import Image

from sqzdse.arch import preset
from sqzdse.cli import main

TINY = [
    "train",
    "--base-e",
    "16",
    "--incr-e",
    "16",
    "--resolution",
    "24",
    "--train-per-class",
    "8",
    "--val-per-class",
    "4",
    "--epochs",
    "2",
    "--device",
    "cpu",
]


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_reports_accuracy_counts_and_speed(capsys):
    code, out, err = run(capsys, *TINY, "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    cfg = preset("v1.0", base_e=16, incr_e=16, num_classes=10, resolution=24)
    # counted on the built network: its parameters, and its Conv2d MACs by forward hooks
    assert (report["params"], report["macs"]) == (26_610, 1_195_040)
    assert report["status"] == "ok" and 0 <= report["top1"] <= report["top5"] <= 1
    assert report["train_seconds"] > 0 and report["images_per_second"] > 0
    assert len(report["curve"]) == 2 and report["config"] == cfg.to_dict()
    assert report["dataset"] == {
        "name": "digits",
        "num_classes": 10,
        "resolution": 24,
        "train_images": 80,
        "val_images": 40,
        "train_per_class": 8,
        "val_per_class": 4,
    }
    assert report["train_config"]["epochs"] == 2 and report["train_config"]["seed"] == 0


def test_text_prints_one_progress_line_per_epoch_and_a_summary(capsys):
    code, out, err = run(capsys, *TINY)
    assert code == 0
    progress = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in progress] == ["1/2", "2/2"]
    assert "train loss" in progress[0] and "top-1" in progress[0]
    assert "top-1 " in out and "training images/s" in out and "parameters" in out


def test_image_folder_with_few_classes_notes_top5(tmp_path, capsys):
    for label, colour in enumerate([(200, 0, 0), (0, 200, 0)]):
        for i in range(4):
            path = tmp_path / f"class{label}" / f"{i}.png"
            path.parent.mkdir(exist_ok=True)
            Image.new("RGB", (24, 24), colour).save(path)
    code, out, _ = run(
        capsys,
        "train",
        "--dataset",
        "folder",
        "--data-root",
        str(tmp_path),
        "--base-e",
        "16",
        "--incr-e",
        "16",
        "--resolution",
        "24",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--json",
    )
    report = json.loads(out)
    assert code == 0 and report["dataset"]["num_classes"] == 2 and report["top5"] == 1.0
    assert "5 or fewer classes" in report["note"]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--num-classes", "7"],
            "--num-classes 7 conflicts with the digits data set, which has 10 classes",
        ),
        (
            ["--dataset", "imagenet"],
            "unknown data set 'imagenet'; valid data sets: digits, cifar10",
        ),
        (
            ["--dataset", "cifar10"],
            "the cifar10 data set is read from a folder: pass its location with --data-root",
        ),
        (["--download", "--dataset", "cifar10"], "--download needs --data-root"),
        (["--epochs", "0"], "`epochs` must be an integer >= 1, got 0"),
        (["--resolution", "8"], "the feature map vanishes"),
        (["--device", "tpu"], "`device` must be auto, cpu, cuda or cuda:N, got 'tpu'"),
    ],
)
def test_errors_are_one_line_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *TINY, *args)
    assert code == 2 and out == ""
    assert err.startswith("sqzdse: error: ") and message in err and err.count("\n") == 1


def test_cuda_without_cuda_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run(capsys, *TINY, "--device", "cuda")
    assert code == 2 and "device 'cuda' was asked for, but CUDA is not available" in err


def test_failed_training_exits_non_zero_with_the_reason(capsys):
    code, out, err = run(capsys, *TINY, "--lr", "1e30", "--json")
    assert code == 2
    assert json.loads(out)["status"] == "failed"
    assert re.fullmatch(
        r"sqzdse: error: training failed: non-finite loss at epoch \d step \d\n", err
    )
