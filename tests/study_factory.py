"""Build sqzdse studies for tests, exactly as `sqzdse search` writes them (see sqzdse/records.py),
through Optuna's public API into a real storage.

    study = create_study(sqlite_url(tmp_path / "s.db"))
    add_trial(study, top1=0.8, top5=0.95)                      # ok: COMPLETE, values (top5, params)
    add_trial(study, arch=small_arch(sr=0.5), top1=0.9, top5=0.99)
    add_trial(study, status="reused", reused_from=0, top1=0.8, top5=0.95)
    add_trial(study, status="failed")                          # FAIL with a failure_reason
    add_trial(study, status="infeasible")                      # PRUNED with a constraint > 0
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
from pathlib import Path

import optuna
from optuna.trial import TrialState

from sqzdse import records
from sqzdse.arch import ArchConfig, count_macs, count_params, model_size_bytes

DEFAULT_OBJECTIVES = (("top5", "maximize"), ("params", "minimize"))
STATES = {"ok": TrialState.COMPLETE, "reused": TrialState.COMPLETE, "failed": TrialState.FAIL,
          "infeasible": TrialState.PRUNED}


def sqlite_url(path) -> str:
    return f"sqlite:///{path}"


def small_arch(**changes) -> ArchConfig:
    """A network for the 10 digit classes at 32x32, with fields replaced."""
    base = ArchConfig(num_classes=10, resolution=32, stem_filters=64, stem_kernel=3, stem_stride=1,
                      stem_padding=1, pool_after=("conv1", "fire3", "fire5"))
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


def create_study(storage: str, *, study_name: str = "factory",
                 objectives=DEFAULT_OBJECTIVES, dataset: str = "digits",
                 num_classes: int = 10) -> optuna.Study:
    """A new study with the directions, metric names and study attributes of a sqzdse search.
    `storage` is a URL; an SQLite file is created (or added to) through `fast_sqlite_storage`."""
    objectives = [(name, direction) for name, direction in objectives]
    if storage.startswith("sqlite:///"):
        storage = fast_sqlite_storage(storage)
    study = optuna.create_study(storage=storage, study_name=study_name,
                                directions=[direction for _, direction in objectives])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([name for name, _ in objectives])
    study.set_user_attr(records.OBJECTIVES, [list(pair) for pair in objectives])
    study.set_user_attr(records.SPACE_HASH, f"factory-{study_name}")
    study.set_user_attr(records.SPACE, {"name": study_name})
    study.set_user_attr(records.DATASET, dataset)
    study.set_user_attr(records.NUM_CLASSES, num_classes)
    study.set_user_attr(records.ACCURACY_NOTE, "factory study: made-up accuracies")
    return study


def analytic_metrics(arch: ArchConfig) -> dict:
    params = count_params(arch)
    return {"params": params, "macs": count_macs(arch),
            "size_bytes_32bit": model_size_bytes(params, 32),
            "size_bytes_8bit": model_size_bytes(params, 8)}


def add_trial(study: optuna.Study, *, arch: ArchConfig | None = None, status: str = "ok",
              state: str | None = None, top1: float | None = None, top5: float | None = None,
              train_loss: float | None = None, train_seconds: float | None = None,
              metrics: dict | None = None, failure_reason: str | None = None,
              reused_from: int | None = None, constraints: dict | None = None) -> int:
    """Add one trial written by the records.py contract; returns its number.

    `status` ok / reused -> COMPLETE with values in the study's objective order (top1 and top5 are
    then required); failed -> FAIL; infeasible -> PRUNED with `constraints` (default: params over a
    budget 1 below its count). `state` (e.g. "RUNNING") overrides and leaves no status.
    """
    arch = arch if arch is not None else small_arch()
    trained = state is None and status in ("ok", "reused")
    if trained and (top1 is None or top5 is None):
        raise ValueError("an ok or reused trial needs top1 and top5")
    attrs = {records.ARCH: arch.to_dict(), records.DEVICE: "cpu", **analytic_metrics(arch)}
    if trained:
        train_seconds = 2.0 if train_seconds is None else train_seconds
        attrs.update(top1=top1, top5=top5, train_loss=0.5 if train_loss is None else train_loss,
                     train_seconds=train_seconds, images_per_second=1000.0 / train_seconds)
        attrs[records.CURVE] = [{"epoch": 1, "train_loss": attrs["train_loss"], "top1": top1,
                                 "top5": top5, "seconds": train_seconds}]
    attrs.update(metrics or {})

    if state is not None:
        trial_state = TrialState[state]
    else:
        attrs[records.STATUS] = status
        trial_state = STATES[status]
        if status == "reused":
            attrs[records.REUSED_FROM] = reused_from
        elif status == "failed":
            attrs[records.FAILURE_REASON] = failure_reason or "training diverged: loss is nan"
        elif status == "infeasible":
            attrs[records.FAILURE_REASON] = failure_reason or "params over budget"
            constraints = constraints or {"params": 1.0}

    names = [name for name, _ in study.user_attrs[records.OBJECTIVES]]
    values = [attrs[name] for name in names] if trial_state == TrialState.COMPLETE else None
    study.add_trial(optuna.trial.create_trial(state=trial_state, values=values, user_attrs=attrs,
                                              constraints=constraints))
    return len(study.get_trials(deepcopy=False)) - 1
