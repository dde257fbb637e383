"""Build sqzdse studies for tests and benchmarks, written as `sqzdse search` writes them: through
`TrialRecord` and `StudyInfo` (sqzdse/records.py) and Optuna's public API, into a real storage.

    study = create_study(sqlite_url(tmp_path / "s.db"))
    add_trial(study, top1=0.8, top5=0.95)                      # ok: COMPLETE, values (top5, params)
    add_trial(study, arch=small_arch(sr=0.5), top1=0.9, top5=0.99)
    add_trial(study, status="reused", reused_from=0, top1=0.8, top5=0.95)
    add_trial(study, status="failed")                          # FAIL with a failure_reason
    add_trial(study, status="infeasible")                      # PRUNED with a constraint > 0
    add_trial(study, status="stopped", top1=0.4, top5=0.8)     # PRUNED at a rung: a curve only
    add_trial(study, state="RUNNING")                          # still running: no status yet

Analytic metrics (params, macs, sizes) are computed from the architecture; `metrics=` overrides any
metric when a test needs chosen numbers.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import optuna
from optuna.trial import TrialState

from sqzdse.arch import ArchConfig
from sqzdse.records import Epoch, Status, StudyInfo, TrialRecord, analytic_metrics
from sqzdse.search import software_versions

DEFAULT_OBJECTIVES = (("top5", "maximize"), ("params", "minimize"))
STATES = {
    Status.OK: TrialState.COMPLETE,
    Status.REUSED: TrialState.COMPLETE,
    Status.FAILED: TrialState.FAIL,
    Status.INFEASIBLE: TrialState.PRUNED,
    Status.STOPPED: TrialState.PRUNED,
}


def sqlite_url(path) -> str:
    return f"sqlite:///{path}"


def small_arch(**changes) -> ArchConfig:
    """A network for the 10 digit classes at 32x32, with fields replaced."""
    base = ArchConfig(
        num_classes=10,
        resolution=32,
        stem_filters=64,
        stem_kernel=3,
        stem_stride=1,
        stem_padding=1,
        pool_after=("conv1", "fire3", "fire5"),
    )
    return base.replace(**changes)


def fast_sqlite_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDBStorage on an SQLite file that skips fsync (tests only: 3x faster writes). A new file
    starts as a copy of an empty Optuna database, which saves creating the tables each time."""
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists():
        shutil.copyfile(_empty_optuna_database(), path)

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        connection.execute("PRAGMA synchronous = OFF")
        return connection

    return optuna.storages.RDBStorage(url, engine_kwargs={"creator": connect})


@functools.cache
def _empty_optuna_database() -> Path:
    folder = tempfile.mkdtemp(prefix="sqzdse-factory-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "empty.db"
    optuna.storages.RDBStorage(f"sqlite:///{path}").engine.dispose()
    return path


def _made_up_latency(median_ms: float) -> dict:
    import torch

    return {
        "median_ms": median_ms,
        "p10_ms": median_ms,
        "p90_ms": median_ms,
        "repeats": 30,
        "threads": 1,
        "cpu": "factory",
        "torch": torch.__version__,
    }


def create_study(
    storage: str,
    *,
    study_name: str = "factory",
    objectives=DEFAULT_OBJECTIVES,
    dataset: str = "digits",
    num_classes: int = 10,
) -> optuna.Study:
    """A new study with the directions, metric names and study attributes of a sqzdse search.
    `storage` is a URL; an SQLite file is created (or added to) through `fast_sqlite_storage`."""
    objectives = [(name, direction) for name, direction in objectives]
    opened: str | optuna.storages.BaseStorage = storage
    if storage.startswith("sqlite:///"):
        opened = fast_sqlite_storage(storage)
    study = optuna.create_study(
        storage=opened,
        study_name=study_name,
        directions=[direction for _, direction in objectives],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([name for name, _ in objectives])
    StudyInfo(
        space_hash=f"factory-{study_name}",
        space={"name": study_name},
        objectives=tuple(objectives),
        dataset=dataset,
        num_classes=num_classes,
        accuracy_note="factory study: made-up accuracies",
    ).write(study)
    return study


def add_trial(
    study: optuna.Study,
    *,
    arch: ArchConfig | None = None,
    status: str = Status.OK,
    state: str | None = None,
    top1: float | None = None,
    top5: float | None = None,
    train_loss: float | None = None,
    train_seconds: float | None = None,
    metrics: dict | None = None,
    failure_reason: str | None = None,
    reused_from: int | None = None,
    constraints: dict | None = None,
    curve: Sequence[Epoch] | None = None,
    latency: dict | None = None,
    weights: dict | None = None,
) -> int:
    """Add one trial as the search writes it (a TrialRecord); returns its number.

    `status` ok / reused -> COMPLETE with values in the study's objective order (top1 and top5 are
    then required); failed -> FAIL; infeasible -> PRUNED with `constraints` (default: params over a
    budget 1 below its count); stopped -> PRUNED with a curve ending at top1 and top5 (required),
    its train_seconds and no accuracy metric. `state` (e.g. "RUNNING") overrides and leaves no
    status. A trained trial's curve is one epoch with its final numbers unless `curve` is given.
    A trial whose trainer ran has a made-up `latency_ms` (0.2 ms + 1 ms per million parameters)
    and its `latency` record unless `metrics` / `latency` give them. `weights` is what a trial
    with stored weights records (no artifact is written).
    """
    arch = arch if arch is not None else small_arch()
    status = Status(status)
    trained = state is None and status in (Status.OK, Status.REUSED, Status.STOPPED)
    if trained and (top1 is None or top5 is None):
        raise ValueError("an ok, reused or stopped trial needs top1 and top5")
    values: dict[str, float] = dict(analytic_metrics(arch))  # accuracies and times join them
    record = TrialRecord(arch=arch)
    if state is None and status is not Status.INFEASIBLE:  # the trainer ran
        record = record.replace(device="cpu", versions=software_versions())
    if trained:
        assert top1 is not None and top5 is not None  # checked above
        train_seconds = 2.0 if train_seconds is None else train_seconds
        train_loss = 0.5 if train_loss is None else train_loss
        values.update(
            top1=top1,
            top5=top5,
            train_loss=train_loss,
            train_seconds=train_seconds,
            images_per_second=1000.0 / train_seconds,
        )
        record = record.replace(
            curve=tuple(curve)
            if curve is not None
            else (
                Epoch(epoch=1, train_loss=train_loss, top1=top1, top5=top5, seconds=train_seconds),
            )
        )
    if status is Status.STOPPED and state is None:
        values = {k: v for k, v in values.items() if k not in ("top1", "top5", "train_loss")}
        values.pop("images_per_second")
    values.update(metrics or {})
    if state is None and status is not Status.INFEASIBLE:  # measured before training
        values.setdefault("latency_ms", round(0.2 + values["params"] / 1e6, 4))
        latency = latency or _made_up_latency(values["latency_ms"])
    record = record.replace(metrics=values, latency=latency, weights=weights)

    if state is not None:
        trial_state = TrialState[state]
    else:
        trial_state = STATES[status]
        record = record.replace(status=status)
        if status is Status.REUSED:
            record = record.replace(reused_from=reused_from)
        elif status is Status.FAILED:
            record = record.replace(
                failure_reason=failure_reason or "training diverged: loss is nan"
            )
        elif status is Status.INFEASIBLE:
            record = record.replace(failure_reason=failure_reason or "params over budget")
            constraints = constraints or {"params": 1.0}
        elif status is Status.STOPPED:
            record = record.replace(
                failure_reason=failure_reason
                or f"stopped at epoch {len(record.curve)}: ranked last at this rung"
            )

    names = [name for name, _ in StudyInfo.read(study).objectives]
    objective_values = (
        [float(values[name]) for name in names] if trial_state == TrialState.COMPLETE else None
    )
    study.add_trial(
        optuna.trial.create_trial(
            state=trial_state,
            values=objective_values,
            user_attrs=record.user_attrs(),
            constraints=constraints,
        )
    )
    return len(study.get_trials(deepcopy=False)) - 1
