"""Take a study elsewhere: its trials to CSV / Parquet / JSON, or the whole study to a storage.

Files hold one row per trial with exactly the columns EXPORT_COLUMNS (the typed columns of
`sqzdse.records.TRIAL_COLUMNS`, which also gives each one's dtype and meaning), and read back with
`sqzdse.analysis.load_trials` to the same values and dtypes:
- CSV: missing values are empty fields; floats are written in full (shortest round-trip form);
  times as ISO 8601.
- Parquet: the pandas dtypes are kept as they are.
- JSON: a list of objects, one per trial; missing values are null; times ISO 8601.
A file is written to a temporary name in the target folder and renamed into place, so a failed
export never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd
import sqlalchemy.exc

from sqzdse.analysis import FILE_FORMATS, trials_frame
from sqzdse.errors import StorageError
from sqzdse.files import atomic_file
from sqzdse.records import TRIAL_COLUMNS
from sqzdse.storage import (
    STUDIES_DIR,
    check_study_name,
    describe_storage,
    load_study,
    open_storage,
    study_names,
)

__all__ = [
    "EXPORT_COLUMNS",
    "ExportResult",
    "copy_study",
    "default_export_path",
    "export_study",
    "write_trials",
]

EXPORT_COLUMNS: tuple[str, ...] = tuple(column.name for column in TRIAL_COLUMNS)


def default_export_path(study_name: str, fmt: str) -> Path:
    """`studies/<study>.<fmt>`, with characters unsafe in file names replaced by `_`."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", study_name).lstrip(".") or "study"
    return STUDIES_DIR / f"{safe}.{fmt}"


def _check_format(fmt: str) -> None:
    if fmt not in FILE_FORMATS:
        raise StorageError(
            f"unknown export format {fmt!r}; valid formats: {', '.join(FILE_FORMATS)}"
        )


def write_trials(frame: pd.DataFrame, *, path: str | os.PathLike, fmt: str) -> Path:
    """Write a trials DataFrame (EXPORT_COLUMNS) to `path` as `fmt`, atomically; return `path`."""
    _check_format(fmt)
    missing = [name for name in EXPORT_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"`frame` lacks the export column(s) {', '.join(missing)}")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as temporary:
            _WRITERS[fmt](frame[list(EXPORT_COLUMNS)], temporary)
    except OSError as err:
        raise StorageError(f"cannot write {path}: {err.strerror or err}") from None
    return path


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)


def _write_json(frame: pd.DataFrame, path: Path) -> None:
    rows = [
        {name: _json_value(value) for name, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def _json_value(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


_WRITERS = {"csv": _write_csv, "parquet": _write_parquet, "json": _write_json}


@dataclass(frozen=True)
class ExportResult:
    """What `export_study` wrote."""

    path: Path
    study_name: str
    rows: int
    front_size: int


def export_study(
    *,
    storage: str,
    study_name: str | None = None,
    fmt: str = "csv",
    path: str | os.PathLike | None = None,
    pareto_only: bool = False,
) -> ExportResult:
    """Write one study's trials to a file (default `studies/<study>.<fmt>`).

    `pareto_only` keeps the trials on the front of the study's own objectives.
    """
    _check_format(fmt)
    study = load_study(storage, study_name=study_name)
    frame = trials_frame(study)
    if pareto_only:
        frame = frame.loc[frame["pareto"]].reset_index(drop=True)
    target = Path(path) if path is not None else default_export_path(study.study_name, fmt)
    write_trials(frame, path=target, fmt=fmt)
    return ExportResult(
        path=target,
        study_name=study.study_name,
        rows=len(frame),
        front_size=int(frame["pareto"].sum()),
    )


def copy_study(
    *,
    storage: str,
    study_name: str | None = None,
    to_storage: str,
    to_study_name: str | None = None,
) -> str:
    """Copy a whole study (trials, attributes, metric names) into another storage with Optuna's
    `copy_study`, so it opens there with plain `optuna.load_study`. Returns the name of the copy.

    The target may be a new SQLite file. A study of the same name already there is never
    overwritten; a copy that fails half-way is deleted again.
    """
    source = open_storage(storage)
    study = load_study(source, study_name=study_name)
    name = check_study_name(to_study_name) if to_study_name else study.study_name
    target = open_storage(to_storage, mode="write")
    shown = describe_storage(to_storage)
    if name in study_names(target):
        raise StorageError(
            f"{shown} already holds a study named {name!r}; it is not overwritten: "
            "copy under another name (--to-study NAME) or to another storage"
        )
    try:
        optuna.copy_study(
            from_study_name=study.study_name,
            from_storage=source,
            to_storage=target,
            to_study_name=name,
        )
    except (optuna.exceptions.OptunaError, sqlalchemy.exc.SQLAlchemyError, ValueError) as err:
        with contextlib.suppress(Exception):
            optuna.delete_study(study_name=name, storage=target)
        raise StorageError(f"copying {study.study_name!r} to {shown} failed: {err}") from None
    return name
