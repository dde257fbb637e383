"""The settings of one training run, as plain validated data: which images (`DataSpec`) and which
schedule (`TrainConfig`). No torch: the search space builds them (`space.Training`) before any
data set or trainer is imported; `sqzdse.data` and `sqzdse.train` take them."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

from sqzdse.devices import DEVICES, is_device_spec
from sqzdse.errors import DataError, TrainingError


@dataclass(frozen=True)
class DataSpec:
    """Which data set, where, at what resolution and how many images per class. Frozen, hashable."""

    name: str = "digits"  # a key of DATASETS
    root: str | None = None  # folder of a set that is not embedded
    resolution: int = 32  # image height = width in pixels
    train_per_class: int | None = None  # training images kept per class; None keeps all
    val_per_class: int | None = None  # validation images kept per class; None keeps all
    seed: int = 0  # which images the per-class limits keep
    # share of each class's training pool held out for validation; None: HELD_OUT_VAL_FRACTION for
    # a set with an official test split, VAL_FRACTION for one split three ways
    val_fraction: float | None = None

    def __post_init__(self) -> None:
        if self.root is not None:
            object.__setattr__(self, "root", os.fspath(self.root))
        if not isinstance(self.name, str):
            raise DataError(f"`name` must be a data set name, got {self.name!r}")
        _require_int(self, "resolution", minimum=1, allowed="a positive number of pixels")
        _require_int(self, "seed", minimum=0, allowed="an integer >= 0")
        for field_name in ("train_per_class", "val_per_class"):
            if getattr(self, field_name) is not None:
                _require_int(self, field_name, minimum=1, allowed="None or an integer >= 1")
        f = self.val_fraction
        if f is not None and (
            isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 0.5
        ):
            raise DataError(f"`val_fraction` must be None or a fraction in (0, 0.5], got {f!r}")


def _require_int(spec: DataSpec, field_name: str, *, minimum: int, allowed: str) -> None:
    value = getattr(spec, field_name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DataError(f"`{field_name}` must be {allowed}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a proxy run, with its unit. Frozen and validated on construction."""

    epochs: int = 3  # passes over the training split
    batch_size: int = 64  # images per optimizer step, at least (an epoch's remainder is spread out)
    lr: float = 3e-3  # peak AdamW learning rate, reached at the end of the warmup
    weight_decay: float = 5e-4  # AdamW decoupled weight decay, per unit of learning rate per step
    label_smoothing: float = 0.1  # probability mass spread uniformly over the classes in the loss
    classifier_bias: float = 0.5  # initial bias of the classifier (logit units), see below
    classifier_std: float = 0.01  # classifier weights: normal, as in the paper's model
    warmup_fraction: float = 0.3  # share of all steps spent rising to `lr` (one-cycle)
    initial_lr_divisor: float = 25.0  # the schedule starts at lr / this
    final_lr_divisor: float = 1e4  # and ends at lr / (initial_lr_divisor * this)
    crop_padding: float = 0.03125  # random-crop padding, a fraction of the side (1 px at 32)
    flip: bool = True  # random horizontal flips, where the data set allows them (Dataset.flip_ok)
    eval_batch_size: int = 1024  # images per evaluation forward pass (memory only, not results)
    seed: int = 0  # initial weights, batch order, augmentation, dropout
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    # Why `classifier_bias`: SqueezeNet puts a ReLU after its classifier, so a class whose output
    # starts (or is pushed) below zero for every image gets no gradient and is never predicted; a
    # few epochs cannot revive it. Measured on digits, v1.0, 3 epochs, seeds 0-7, before
    # `classifier_std` was added: top-1 0.76-0.96 (mean 0.88) with PyTorch's default initialisation,
    # 0.94-0.96 (mean 0.95) with the bias starting at +0.5. See `_initialise` for networks with a
    # bypass.

    def __post_init__(self) -> None:
        def require(ok: bool, name: str, allowed: str) -> None:
            if not ok:
                raise TrainingError(f"`{name}` must be {allowed}, got {getattr(self, name)!r}")

        def is_int(name: str) -> bool:
            value = getattr(self, name)
            return isinstance(value, int) and not isinstance(value, bool)

        def is_number(name: str) -> bool:
            value = getattr(self, name)
            return (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
            )

        for name in ("epochs", "eval_batch_size"):
            require(is_int(name) and getattr(self, name) >= 1, name, "an integer >= 1")
        require(
            is_int("batch_size") and self.batch_size >= 2,
            "batch_size",
            "an integer >= 2 (BatchNorm needs two images per batch)",
        )
        require(is_int("seed") and self.seed >= 0, "seed", "an integer >= 0")
        require(is_number("lr") and self.lr > 0, "lr", "a finite number > 0")
        require(
            is_number("weight_decay") and self.weight_decay >= 0,
            "weight_decay",
            "a finite number >= 0",
        )
        require(
            is_number("label_smoothing") and 0 <= self.label_smoothing < 1,
            "label_smoothing",
            "a fraction in [0, 1)",
        )
        require(
            is_number("warmup_fraction") and 0 < self.warmup_fraction < 1,
            "warmup_fraction",
            "a fraction in (0, 1)",
        )
        require(is_number("classifier_bias"), "classifier_bias", "a finite number")
        require(
            is_number("classifier_std") and self.classifier_std > 0,
            "classifier_std",
            "a finite number > 0",
        )
        for name in ("initial_lr_divisor", "final_lr_divisor"):
            require(is_number(name) and getattr(self, name) >= 1, name, "a finite number >= 1")
        require(
            is_number("crop_padding") and 0 <= self.crop_padding < 1,
            "crop_padding",
            "a fraction of the image side in [0, 1)",
        )
        require(isinstance(self.flip, bool), "flip", "True or False")
        require(is_device_spec(self.device), "device", DEVICES)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
