"""Retraining a trial's network: its exact architecture, trained longer on the full training split,
on several seeds, measured on the same validation images as the search's proxy.

The result is a block of plain data (`retrain_block`) that the study stores as
`retrained:<number>` (a finished Optuna trial cannot be changed), with the first seed's weights as
a study artifact.
"""

from __future__ import annotations

import dataclasses
import datetime
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from sqzdse.arch import ArchConfig
from sqzdse.errors import SqzdseError
from sqzdse.records import Epoch
from sqzdse.space import Training

DEFAULT_SEEDS = 2
EPOCHS_FACTOR, MIN_EPOCHS = 4, 10  # default epochs: max(10, 4 x the search's)


def default_epochs(search_epochs: int) -> int:
    return max(MIN_EPOCHS, EPOCHS_FACTOR * search_epochs)


def retrain_training(
    study_training: dict[str, Any],
    *,
    epochs: int | None = None,
    train_per_class: int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
) -> Training:
    """The study's training settings with retraining's: more epochs (default `default_epochs`),
    every training image unless `train_per_class`, the same validation images (same data seed)."""
    search = Training.from_stored(study_training)
    changes = {
        "epochs": epochs or default_epochs(search.epochs),
        "train_per_class": train_per_class,
    }
    if batch_size is not None:
        changes["batch_size"] = batch_size
    if device is not None:
        changes["device"] = device
    return dataclasses.replace(search, **changes)


def retrain(
    arch: ArchConfig,
    training: Training,
    seeds: Sequence[int],
    *,
    on_epoch: Callable[[int, Epoch], None] | None = None,
):
    """One `TrainResult` per seed (weights kept for the first); SqzdseError when a run fails."""
    from sqzdse.data import load_dataset
    from sqzdse.train import resolve_device, train_proxy

    data = load_dataset(training.data_spec(), device=resolve_device(training.device))
    results = []
    for i, seed in enumerate(seeds):
        config = dataclasses.replace(training.train_config(), seed=seed)
        result = train_proxy(
            arch,
            data,
            config,
            on_epoch=None if on_epoch is None else (lambda e, s=seed: on_epoch(s, e)),
            keep_weights=i == 0,
        )
        if result.status != "ok":
            raise SqzdseError(f"retraining with seed {seed} failed: {result.reason}")
        results.append((seed, result))
    return results


def retrain_block(training: Training, results, *, weights: dict | None) -> dict[str, Any]:
    """What the study records about one retraining (plain JSON data)."""
    import torch

    from sqzdse import __version__

    runs = [
        {
            "seed": seed,
            "top1": r.top1,
            "top5": r.top5,
            "train_seconds": r.train_seconds,
            "curve": [e.to_dict() for e in r.curve],
        }
        for seed, r in results
    ]
    return {
        "settings": dataclasses.asdict(training),
        "seeds": runs,
        "top1": statistics.fmean(r["top1"] for r in runs),
        "top5": statistics.fmean(r["top5"] for r in runs),
        "train_seconds": sum(r["train_seconds"] for r in runs),
        "device": results[0][1].device,
        "weights": weights,
        "versions": {"sqzdse": __version__, "torch": torch.__version__},
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }
