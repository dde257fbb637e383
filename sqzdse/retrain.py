"""Retraining a network: its exact architecture, trained longer on the full training split, on
several seeds, measured on the validation images the search selected with and then, once trained,
on the test split that nothing in a search reads.

The result is a `records.Retraining` block (`retrain_block`) that the study stores as
`retrained:<number>` for a trial (a finished Optuna trial cannot be changed) or
`retrained_baseline:<preset>` for SqueezeNet v1.0 / v1.1 trained the same way, with the first
seed's weights as an artifact.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqzdse.arch import ArchConfig
from sqzdse.errors import SqzdseError
from sqzdse.records import Epoch, Retraining, SeedRun, Status
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
    lr: float | None = None,
    device: str | None = None,
) -> Training:
    """The study's training settings with retraining's: more epochs (default `default_epochs`),
    every training image unless `train_per_class`, the same validation images (same data seed)."""
    search = Training.from_stored(study_training)
    changes: dict[str, Any] = {
        "epochs": epochs or default_epochs(search.epochs),
        "train_per_class": train_per_class,
    }
    if batch_size is not None:
        changes["batch_size"] = batch_size
    if lr is not None:
        changes["lr"] = lr
    if device is not None:
        changes["device"] = device
    return dataclasses.replace(search, **changes)


def train_seed(
    arch: ArchConfig,
    training: Training,
    seed: int,
    *,
    on_epoch: Callable[[Epoch], None] | None = None,
) -> tuple[SeedRun, Any]:
    """Train `arch` with `training` and `seed`, at the network's own resolution; (its SeedRun,
    its deployable Weights). The test split is read only after training ends. SqzdseError when
    the run fails."""
    from sqzdse.data import load_dataset
    from sqzdse.train import resolve_device, train_proxy

    training = training.at(arch.resolution)  # a study that searched it trained each at its own
    device = resolve_device(training.device)
    data = load_dataset(training.data_spec(), device=device)
    config = dataclasses.replace(training.train_config(), seed=seed)
    result = train_proxy(arch, data, config, on_epoch=on_epoch, keep_weights=True)
    if result.status is not Status.OK:
        raise SqzdseError(f"retraining with seed {seed} failed: {result.reason}")
    test_top1, test_top5 = test_accuracy(result.weights, training)
    run = SeedRun(
        seed=seed,
        top1=result.top1,
        top5=result.top5,
        test_top1=test_top1,
        test_top5=test_top5,
        train_seconds=result.train_seconds,
        device=result.device,
        curve=tuple(result.curve),
    )
    return run, result.weights


def test_accuracy(weights, training: Training, *, batch_size: int = 1000) -> tuple[float, float]:
    """(top-1, top-5) of deployable `weights` on the test split of `training`'s data set (top-5 is
    top-min(5, classes), as in the trainer)."""
    import torch

    from sqzdse.data import load_test_split

    test = load_test_split(training.data_spec())
    model = weights.deployable().eval()
    hits1 = hits5 = 0
    with torch.inference_mode():
        for xb, yb in zip(test.x.split(batch_size), test.y.split(batch_size)):
            logits = model(xb.float())
            top = logits.topk(min(5, logits.shape[1]), dim=1).indices
            hit = top == yb[:, None]
            hits1 += int(hit[:, 0].sum())
            hits5 += int(hit.any(dim=1).sum())
    return hits1 / len(test.y), hits5 / len(test.y)


test_accuracy.__test__ = False  # type: ignore[attr-defined]  # pytest: not a test, whatever its name


def retrain(
    arch: ArchConfig,
    training: Training,
    seeds: Sequence[int],
    *,
    on_epoch: Callable[[int, Epoch], None] | None = None,
) -> tuple[list[SeedRun], Any]:
    """One `SeedRun` per seed, and the first seed's weights; SqzdseError when a run fails."""
    runs, first_weights = [], None
    for seed in seeds:
        run, weights = train_seed(
            arch,
            training,
            seed,
            on_epoch=None if on_epoch is None else functools.partial(on_epoch, seed),
        )
        runs.append(run)
        first_weights = first_weights if first_weights is not None else weights
    return runs, first_weights


def retrain_block(
    training: Training, runs: Sequence[SeedRun], *, weights: dict | None, splits: dict
) -> Retraining:
    """What the study records about one network's retraining (`Retraining.to_dict` stores it)."""
    import torch

    from sqzdse import __version__

    return Retraining.of_runs(
        runs,
        settings=dataclasses.asdict(training),
        splits=splits,
        weights=weights,
        versions={"sqzdse": __version__, "torch": torch.__version__},
    )


def split_sizes(training: Training) -> dict[str, Any]:
    """The image counts of the three splits retraining uses, and the convention."""
    from sqzdse.data import load_dataset, load_test_split

    spec = training.data_spec()
    data, test = load_dataset(spec), load_test_split(spec)
    return {
        "convention": data.splits.convention,
        "train": data.splits.train,
        "val": data.splits.val,
        "test": len(test.y),
    }
