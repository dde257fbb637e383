"""Reading studies for the dashboard: read-only, short transactions, cached between refreshes.

The storage is opened with `sqzdse.storage.open_storage(url)` (read mode): an SQLite file through a
read-only connection, so the dashboard can never write to it, create it, or hold a write lock; each
read is one short transaction, so a search writing to the same file is never blocked for long.

Optuna's cached storage re-reads only the trials that are new or still running, and the trials frame
is rebuilt only when a trial was added or changed state, so a refresh of an unchanged 5,000-trial
study costs a few milliseconds.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any

import optuna
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from sqzdse import analysis
from sqzdse.dashboard.study_data import StudyData
from sqzdse.errors import StorageError
from sqzdse.front import BASELINE_PREFIX, baseline_blocks
from sqzdse.records import FIDELITY_KIND, RETRAINED_PREFIX, STUDY_KIND, StudyInfo
from sqzdse.storage import open_storage, reason, sqlite_file


def trials_version(trials, study_attrs: Mapping[str, Any] | None = None) -> str:
    """A short digest that changes whenever a trial is added, finishes or changes state, or (given
    the study's attributes) `sqzdse retrain` records a network."""
    digest = hashlib.blake2b(digest_size=8)
    for t in trials:
        done = t.datetime_complete.isoformat() if t.datetime_complete else ""
        digest.update(f"{t.number}:{t.state.name}:{done};".encode())
    for key, block in sorted((study_attrs or {}).items()):
        if key.startswith((RETRAINED_PREFIX, BASELINE_PREFIX)) and isinstance(block, dict):
            digest.update(f"{key}:{block.get('finished')}:{block.get('test_top1')};".encode())
    return digest.hexdigest()


class StudySource:
    """Every study of one storage, read-only. Thread-safe: Dash may run callbacks concurrently."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._storage = open_storage(url)
        self._lock = threading.Lock()  # guards the two caches
        self._loading = threading.Lock()  # one rebuild at a time: concurrent callbacks share it
        self._studies: dict[str, tuple[int, optuna.Study]] = {}
        self._data: dict[str, StudyData] = {}
        self._file = sqlite_file(url) if make_url(url).get_backend_name() == "sqlite" else None
        self._inode = self._file.stat().st_ino if self._file else None

    def study_names(self) -> list[str]:
        """Names of the studies in the storage, sorted."""
        return self._read(lambda: analysis.study_names(self._storage))

    def objectives(self, name: str) -> tuple[tuple[str, str], ...]:
        """The study's (metric, direction) pairs, in the order of its values."""
        return tuple(self._read(lambda: analysis.study_objectives(self._study(name))))

    def version(self, name: str) -> str:
        """The study's current `trials_version` (reads only new or unfinished trials)."""
        return self._read(lambda: self._version(self._study(name)))

    @staticmethod
    def _version(study: optuna.Study, trials=None) -> str:
        trials = study.get_trials(deepcopy=False) if trials is None else trials
        return trials_version(trials, study.user_attrs)

    def load(self, name: str) -> StudyData:
        """The study as StudyData, rebuilt only when its trials changed since the last call."""
        with self._loading:
            return self._read(lambda: self._load(name))

    def _load(self, name: str) -> StudyData:
        study = self._study(name)
        trials = study.get_trials(deepcopy=False)
        version = self._version(study, trials)
        with self._lock:
            cached = self._data.get(name)
        if cached is not None and cached.version == version:
            return cached
        info = StudyInfo.read(study)
        records = analysis.trial_records(study, trials)
        frame = analysis.trials_frame(study, records)
        data = StudyData(
            name=name,
            frame=frame,
            records={r.number: r for r in records},
            objectives=tuple(frame.attrs.get("objectives", ())),
            num_classes=info.num_classes,
            resolution=(
                _int_or_none(info.training.get("resolution")) or _common_value(frame, "resolution")
            ),
            epochs=(
                _int_or_none(info.training.get("epochs"))
                or _common_value(frame.loc[frame["state"] == "COMPLETE"], "epochs_trained")
            ),
            dataset=info.training.get("dataset") or info.dataset,
            training=info.training,
            accuracy_note=info.accuracy_note,
            splits=info.splits,
            baselines=baseline_blocks(study.user_attrs),
            version=version,
        )
        with self._lock:
            self._data[name] = data
        return data

    def _study(self, name: str) -> optuna.Study:
        """The cached Study (its storage caches finished trials); reloaded if the study was
        deleted and made again under the same name."""
        try:
            study_id = self._storage.get_study_id_from_name(name)
        except KeyError:
            present = ", ".join(analysis.study_names(self._storage)) or "none"
            raise StorageError(
                f"no study named {name!r} in {self.url}; studies there: {present}"
            ) from None
        with self._lock:
            cached = self._studies.get(name)
        if cached is not None and cached[0] == study_id:
            return cached[1]
        study = optuna.load_study(study_name=name, storage=self._storage)
        if study.user_attrs.get(STUDY_KIND) == FIDELITY_KIND:
            raise StorageError(
                f"study {name!r} in {self.url} holds fidelity runs (sqzdse fidelity), not a "
                f"search; draw it with: python dashboards/fidelity.py --storage {self.url} "
                f"--study {name}"
            )
        with self._lock:
            self._studies[name] = (study_id, study)
            self._data.pop(name, None)
        return study

    def _check_file(self) -> None:
        """An SQLite file removed or replaced since the last read: pooled connections would still
        read the old file, so say it is gone, or reconnect to the new one."""
        if self._file is None:
            return
        try:
            inode = self._file.stat().st_ino
        except FileNotFoundError:
            raise StorageError(
                f"the study database {self._file} is gone (from {self.url})"
            ) from None
        if inode != self._inode:
            self._storage.engine.dispose()
            with self._lock:
                self._studies.clear()
                self._data.clear()
                self._inode = inode

    def _read(self, func):
        self._check_file()
        try:
            return func()
        except (optuna.exceptions.OptunaError, sqlalchemy.exc.SQLAlchemyError) as err:
            raise StorageError(f"cannot read {self.url}: {reason(err)}") from None


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _common_value(frame, column: str) -> int | None:
    values = frame[column].dropna().unique() if column in frame else []
    return int(values[0]) if len(values) == 1 else None
