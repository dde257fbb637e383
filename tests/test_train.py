"""The proxy trainer: results, reproducibility, failure paths, augmentation and the accuracy bar."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sqzdse.arch import preset
from sqzdse.data import Dataset, DataSpec, Splits, load_dataset
from sqzdse.errors import TrainingError
from sqzdse.train import TOP5_NOTE, TrainConfig, augment, evaluate, resolve_device, train_proxy

SMALL = {"base_e": 16, "incr_e": 16, "num_classes": 10, "resolution": 24}
TINY_DATA = DataSpec(resolution=24, train_per_class=12, val_per_class=6)
TIMING_KEYS = {"train_seconds", "images_per_second"}


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def small_run(**config) -> dict:
    result = train_proxy(
        preset("v1.0", **SMALL),
        load_dataset(TINY_DATA),
        TrainConfig(epochs=2, batch_size=32, device="cpu", **config),
    )
    return result.to_dict()


def without_timings(result: dict) -> dict:
    result = {k: v for k, v in result.items() if k not in TIMING_KEYS}
    result["curve"] = [{k: v for k, v in e.items() if k != "seconds"} for e in result["curve"]]
    return result


def test_result_has_every_field_and_serialises():
    result = small_run()
    assert result["status"] == "ok" and result["reason"] is None and result["note"] is None
    assert [e["epoch"] for e in result["curve"]] == [1, 2]
    assert set(result["curve"][0]) == {"epoch", "train_loss", "top1", "top5", "seconds", "val_loss"}
    assert all(e["val_loss"] > 0 for e in result["curve"])
    assert (
        result["top1"] == result["curve"][-1]["top1"] and 0 <= result["top1"] <= result["top5"] <= 1
    )
    assert result["train_loss"] == result["curve"][-1]["train_loss"] and result["train_loss"] > 0
    assert result["train_seconds"] >= result["curve"][-1]["seconds"] > 0
    assert result["images_per_second"] > 0
    assert result["peak_memory_bytes"] is None and result["device"] == "cpu"
    json.dumps(result)


def test_same_seed_same_result_and_another_seed_differs():
    first, second = small_run(seed=3), small_run(seed=3)
    assert without_timings(first) == without_timings(second)
    assert without_timings(small_run(seed=4)) != without_timings(first)


def test_same_seed_same_result_in_another_process():
    code = (
        "import json, torch; from tests.test_train import small_run; torch.set_num_threads(1); "
        "print(json.dumps(small_run(seed=3)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert without_timings(json.loads(out.stdout)) == without_timings(small_run(seed=3))


def test_training_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small_run()
    assert torch.equal(torch.rand(3), expected)


def test_non_finite_loss_fails_the_run_with_its_epoch_and_step():
    # A learning rate of 1e30 is finite and accepted, and blows the weights up to inf within steps.
    result = small_run(lr=1e30)
    assert result["status"] == "failed"
    assert result["reason"].startswith("non-finite loss at epoch 1 step ")
    assert 1 <= int(result["reason"].rsplit(" ", 1)[1]) <= 3  # 120 images: 3 batches of 40
    assert result["top1"] is None and result["curve"] == []
    json.dumps(result)  # no NaN leaks into the JSON


def test_out_of_memory_fails_the_run_with_the_reason(monkeypatch):
    # No GPU here: make the first forward pass raise what the CUDA allocator raises.
    def exhausted(self, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore details")

    monkeypatch.setattr("sqzdse.model.SqueezeNet.forward", exhausted)
    result = small_run()
    assert result["status"] == "failed"
    assert (
        result["reason"] == "out of memory on cpu: CUDA out of memory. Tried to allocate 2.00 GiB"
    )


def test_top5_is_flagged_with_five_or_fewer_classes():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 3, 24, 24), generator=g, dtype=torch.uint8)
    y = torch.arange(40) % 3
    splits = Splits("three-way", 0.2, 30, 10)
    data = Dataset("toy", 3, x[:30], y[:30], x[30:], y[30:], (0.5,) * 3, (0.3,) * 3, True, splits)
    cfg = preset("v1.0", **{**SMALL, "num_classes": 3})
    result = train_proxy(cfg, data, TrainConfig(epochs=1, device="cpu"))
    assert result.top5 == 1.0 and result.note == TOP5_NOTE


def test_mismatched_network_and_data_are_refused():
    data = load_dataset(TINY_DATA)
    with pytest.raises(
        TrainingError, match=r"num_classes=1000 but the digits data set has 10 classes"
    ):
        train_proxy(preset("v1.0", resolution=24), data, TrainConfig(device="cpu"))
    with pytest.raises(TrainingError, match=r"resolution=32 but the digits images are 24x24"):
        train_proxy(preset("v1.0", **{**SMALL, "resolution": 32}), data, TrainConfig(device="cpu"))


@pytest.mark.parametrize(
    "field, value, allowed",
    [
        ("epochs", 0, "an integer >= 1"),
        ("lr", math.nan, "a finite number > 0"),
        ("label_smoothing", 1.0, r"a fraction in \[0, 1\)"),
        ("batch_size", 1, r"an integer >= 2 \(BatchNorm needs two images per batch\)"),
    ],
)
def test_train_config_names_a_bad_field(field, value, allowed):
    with pytest.raises(TrainingError, match=rf"`{field}` must be {allowed}, got"):
        TrainConfig(**{field: value})


def test_resolve_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(
        TrainingError,
        match=r"device 'cuda:1' was asked for, but CUDA is not "
        r"available .*; use --device cpu or auto",
    ):
        resolve_device("cuda:1")
    for bad in ("gpu", "cpu:1", "meta", ""):
        with pytest.raises(TrainingError, match=r"`device` must be auto, cpu, cuda or cuda:N"):
            resolve_device(bad)


def test_augment_crops_and_flips_whole_batches():
    x = torch.arange(1, 2 * 3 * 4 * 4 + 1).reshape(2, 3, 4, 4).to(torch.uint8)
    g = torch.Generator().manual_seed(0)
    out = augment(x, pad=1, flip=False, generator=g)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for image, crop in zip(padded, out):  # every output is one 4x4 window of its own padded input
        windows = [image[:, i : i + 4, j : j + 4] for i in range(3) for j in range(3)]
        assert any(torch.equal(crop, w) for w in windows)
    many = augment(x.repeat(32, 1, 1, 1), pad=1, flip=False, generator=g)
    assert (many != x.repeat(32, 1, 1, 1)).flatten(1).any(1).float().mean() > 0.5  # most shifted
    flipped = augment(x, pad=0, flip=True, generator=torch.Generator().manual_seed(1))
    for image, out_image in zip(x, flipped):
        assert torch.equal(out_image, image) or torch.equal(out_image, image.flip(2))
    many = augment(x.repeat(32, 1, 1, 1), pad=0, flip=True, generator=g)
    mirrored = (many != x.repeat(32, 1, 1, 1)).flatten(1).any(1).float().mean()
    assert 0.25 < mirrored < 0.75  # about half
    assert torch.equal(augment(x, pad=0, flip=False, generator=g), x)


@pytest.mark.slow
@pytest.mark.parametrize("bypass", ["none", "simple", "complex"])
def test_v1_0_learns_digits_in_three_epochs(bypass):
    # With bypass none PyTorch's default initialisation reaches 0.95 too; simple and complex bypass
    # need `_initialise` (Fire modules start as their bypass): 0.35-0.77 without it. On the 1,079
    # training images of digits' 60/20/20 split, seed 0: none 0.961, simple 0.872-0.880 (by thread
    # count), complex 0.961 (with the 1,438 of the old 80/20 split, all were >= 0.92).
    data = load_dataset(DataSpec(name="digits", resolution=32))
    cfg = preset("v1.0", num_classes=10, resolution=32, bypass=bypass)
    result = train_proxy(cfg, data, TrainConfig(epochs=3, seed=0, device="cpu"))
    assert result.status == "ok"
    assert result.top1 >= 0.85, result.curve


def test_evaluate_gives_the_mean_cross_entropy_of_the_validation_images():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 7))
    x = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    y = torch.randint(0, 7, (10,))
    shift, scale = torch.full((1, 3, 1, 1), 128.0), torch.full((1, 3, 1, 1), 1 / 64)
    top1, top5, loss = evaluate(
        model,
        x,
        y,
        shift=shift,
        scale=scale,
        batch_size=3,
        autocast=torch.autocast("cpu", enabled=False),
    )
    logits = model((x.float() - shift) * scale)
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    assert top1 == (logits.argmax(1) == y).sum().item() / 10
    assert top5 == (logits.topk(5, 1).indices == y[:, None]).any(1).sum().item() / 10
