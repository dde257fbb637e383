"""A sqzdse study as one typed DataFrame row per trial: from a storage, or from an exported file.

Rows come from `TrialRecord.row` and columns from `records.TRIAL_COLUMNS`. Reading never creates a
database: a missing SQLite file, a bad or unreachable URL, or an unknown study name raises
`StorageError` with a message saying what to do.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import optuna
import pandas as pd

from sqzdse.dominance import as_minimization, front_mask
from sqzdse.errors import StorageError
from sqzdse.records import (
    COLUMN_NAMES,
    TRIAL_COLUMNS,
    StudyInfo,
    TrialRecord,
    retrained_blocks,
)
from sqzdse.storage import load_study, open_storage, study_names

FILE_FORMATS = ("csv", "parquet", "json")


def is_storage_url(source: str | os.PathLike) -> TypeGuard[str]:
    """True for `scheme://...` strings (storage URLs), False for file paths."""
    return isinstance(source, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", source) is not None


def study_objectives(study: optuna.Study) -> list[tuple[str, str]]:
    """The study's objectives as (metric name, direction) pairs, in the order of its values.

    Names come from the study's metric names, else from its `objectives` attribute, else
    `objective0`, `objective1`, ...
    """
    directions = [d.name.lower() for d in study.directions]
    names = study.metric_names
    if names is None:
        names = [name for name, _ in StudyInfo.read(study).objectives]
    if len(names) != len(directions):
        names = [f"objective{i}" for i in range(len(directions))]
    return list(zip(names, directions))


# ---------------------------------------------------------------------------- trials -> DataFrame


def trial_records(study: optuna.Study, trials: Sequence | None = None) -> list[TrialRecord]:
    """The record of every trial of `study` (or of `trials`, read from it), by trial number, with
    `sqzdse retrain`'s results attached (`records.retrained_blocks`)."""
    names = [name for name, _ in study_objectives(study)]
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    records = [TrialRecord.from_trial(t, names) for t in sorted(trials, key=lambda t: t.number)]
    blocks = retrained_blocks(study.user_attrs)
    if not blocks:
        return records
    return [r.with_retrained(_retrained_block(blocks, r)) for r in records]


def _retrained_block(
    blocks: Mapping[int, Mapping[str, Any]], record: TrialRecord
) -> Mapping[str, Any] | None:
    """The retraining block of `record`'s trial, else of the trial it reused: a duplicate trained
    the same network, so the retraining of its twin is its own. None when neither has one."""
    for number in (record.number, record.reused_from):
        if number is not None and number in blocks:
            return blocks[number]
    return None


def trials_frame(study: optuna.Study, records: Sequence[TrialRecord] | None = None) -> pd.DataFrame:
    """One typed row per trial of `study`, columns as in TRIAL_COLUMNS, in trial-number order.

    Metrics come from the trials' attributes; an objective's value fills its metric when the
    attribute is missing. `pareto` marks the front of the study's own objectives (its trial values).
    `records` (from `trial_records(study)`) saves reading the trials again.
    """
    objectives = study_objectives(study)
    records = trial_records(study) if records is None else records
    frame = pd.DataFrame(
        [r.row() for r in records], columns=[c for c in COLUMN_NAMES if c != "pareto"]
    )
    values = np.array(
        [
            r.values
            if r.state == "COMPLETE" and r.values is not None
            else [np.nan] * len(objectives)
            for r in records
        ],
        dtype=float,
    )
    values = values.reshape(len(records), len(objectives))
    frame["pareto"] = front_mask(as_minimization(values, [d for _, d in objectives]))
    frame.attrs["study_name"] = study.study_name
    frame.attrs["objectives"] = objectives
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with exactly the TRIAL_COLUMNS, each cast to its dtype, on a fresh RangeIndex."""
    columns = {}
    for column in TRIAL_COLUMNS:
        values = frame[column.name]
        if column.dtype.startswith("datetime64"):
            values = pd.to_datetime(values, format="ISO8601")
        columns[column.name] = values.astype(column.dtype).reset_index(drop=True)
    typed = pd.DataFrame(columns)
    typed.attrs.update(frame.attrs)
    return typed


def empty_trials_frame() -> pd.DataFrame:
    """A DataFrame with the TRIAL_COLUMNS and no rows."""
    return _typed(pd.DataFrame({name: [] for name in COLUMN_NAMES}))


# ---------------------------------------------------------------------------- exported files


def file_format(path: str | os.PathLike) -> str:
    """`csv`, `parquet` or `json` from a file name's suffix; StorageError for any other suffix."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FILE_FORMATS:
        raise StorageError(
            f"cannot tell the format of {os.fspath(path)!r}: expected a .csv, "
            ".parquet or .json file, or a storage URL such as "
            "sqlite:///studies/micro.db"
        )
    return suffix


def read_trials_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read a file written by `sqzdse export` back into the typed trials DataFrame."""
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise StorageError(f"no such file: {path}")
    try:
        raw = _READERS[fmt](path)
        missing = [name for name in COLUMN_NAMES if name not in raw.columns]
        if missing:
            raise StorageError(
                f"{path} is not a sqzdse export: it lacks the column(s) {', '.join(missing)}"
            )
        return _typed(raw)
    except (OSError, ValueError, TypeError) as err:
        raise StorageError(f"cannot read {path} as {fmt}: {err}") from None


def _read_csv(path: Path) -> pd.DataFrame:
    # Only an empty field is missing, so a failure reason reading "NA" stays text. An empty
    # pool_after means "no pools"; it is missing only where the whole architecture is (bypass is
    # then missing).
    plain = {c.name: c.dtype for c in TRIAL_COLUMNS if not c.dtype.startswith("datetime64")}
    raw = pd.read_csv(
        path,
        dtype=plain,
        keep_default_na=False,
        na_values={name: [""] for name in COLUMN_NAMES if name != "pool_after"},
    )
    if {"pool_after", "bypass"} <= set(raw.columns):
        raw["pool_after"] = raw["pool_after"].mask(raw["bypass"].isna())
    return raw


def _read_json(path: Path) -> pd.DataFrame:
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError("expected a JSON list of objects, one per trial")
    if not rows:
        return pd.DataFrame({name: [] for name in COLUMN_NAMES})
    return pd.DataFrame.from_records(rows)


_READERS = {"csv": _read_csv, "parquet": pd.read_parquet, "json": _read_json}


def load_trials(source: str | os.PathLike, *, study_name: str | None = None) -> pd.DataFrame:
    """The trials of a study as the typed DataFrame described by TRIAL_COLUMNS.

    `source` is a storage URL (then `study_name` picks the study and may be left out when the
    storage holds one) or the path of a file written by `sqzdse export` (`study_name` is ignored).
    Raises StorageError with a clear message for anything that cannot be opened; never creates a
    file.
    """
    if is_storage_url(source):
        return trials_frame(load_study(source, study_name=study_name))
    return read_trials_file(source)


@dataclass(frozen=True)
class StudyOverview:
    """One study of a storage: its objectives, trial counts by state and the size of its front."""

    name: str
    objectives: tuple[tuple[str, str], ...]
    trials: int
    states: dict[str, int]  # every Optuna TrialState name, zero included
    front_size: int


def study_overviews(storage: str | optuna.storages.BaseStorage) -> list[StudyOverview]:
    """Every study in the storage, by name."""
    if isinstance(storage, str):
        storage = open_storage(storage)
    overviews = []
    for name in study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        frame = trials_frame(study)
        counts = Counter(frame["state"])
        overviews.append(
            StudyOverview(
                name=name,
                objectives=tuple(study_objectives(study)),
                trials=len(frame),
                states={state.name: counts.get(state.name, 0) for state in optuna.trial.TrialState},
                front_size=int(frame["pareto"].sum()),
            )
        )
    return overviews
