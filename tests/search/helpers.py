"""Tiny search spaces and a CLI runner shared by the search and worker tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import sqlalchemy.exc
import yaml

from sqzdse.cli import main

TINY = {
    "name": "tiny",
    "metaparameters": {
        "base_e": {"choices": [8, 16]},
        "incr_e": {"choices": [0, 8]},
        "pct_3x3": 0.5,
        "freq": 2,
        "sr": {"choices": [0.25, 0.5]},
    },
    "network": {"preset": "v1.1", "stem": {"filters": 16}},
    "pooling": {"after": ["conv1", "fire3"]},
    "sampler": {"name": "random", "seed": 0},
    "training": {
        "resolution": 16,
        "epochs": 1,
        "train_per_class": 8,
        "val_per_class": 4,
        "device": "cpu",
    },
    "n_trials": 4,
}


def write_space(folder: Path, name: str = "tiny", **changes) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**TINY, "name": name, **changes}))
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def searched_all(folder: Path, name: str, **changes) -> tuple[str, optuna.Study, list]:
    """(storage URL, study, its TrialRecords) of a search of TINY with `changes` in `folder` that
    keeps every trained network's weights."""
    from sqzdse.records import TrialRecord

    space = write_space(folder, name=name, **changes)
    url = f"sqlite:///{folder / f'{name}.db'}"
    args = ["search", "--space", space, "--storage", url, "--save-weights", "all", "-q"]
    assert main([str(a) for a in args]) == 0
    study = optuna.load_study(study_name=name, storage=url)
    return url, study, [TrialRecord.from_trial(t) for t in study.trials]


def refused(folder: Path, capsys, data: dict) -> str:
    """A search of the space `data`, refused with exit code 2 before any file was written: its
    message."""
    space = folder / "bad.yaml"
    space.write_text(yaml.safe_dump(data))
    db = folder / "x.db"
    code, _, err = run(capsys, "search", "--space", space, "--storage", f"sqlite:///{db}")
    assert code == 2 and not db.exists(), err
    return err


def load(db: Path, name: str = "tiny") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{db}")


def trials_so_far(db: Path, name: str = "tiny") -> list:
    """The study's trials, or none while a starting process has not created the study yet.

    Reads without creating tables: creating them beside the starting process would race it.
    """
    if not db.exists():
        return []
    try:
        storage = optuna.storages.RDBStorage(f"sqlite:///{db}", skip_table_creation=True)
        return optuna.load_study(study_name=name, storage=storage).trials
    except (
        KeyError,
        RuntimeError,
        optuna.exceptions.StorageInternalError,
        sqlalchemy.exc.SQLAlchemyError,
    ):
        return []


def cli_process(*args, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "sqzdse", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
