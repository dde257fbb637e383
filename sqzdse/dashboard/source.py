"""Reading studies for the dashboard: read-only, short transactions, cached between refreshes.

The storage is opened with `sqzdse.storage.open_storage(url)` (read mode): an SQLite file through a
read-only connection, so the dashboard can never write to it, create it, or hold a write lock; each
read is one short transaction, so a search writing to the same file is never blocked for long.

Optuna's cached storage re-reads only the trials that are new or still running, and the trials frame
is rebuilt only when a trial was added or changed state, so a refresh of an unchanged 5,000-trial
study costs a few milliseconds.

A storage holds two kinds of study (`study_kinds`): searches, drawn by the main page, and fidelity
studies (`sqzdse fidelity`, marked by the study attribute `records.STUDY_KIND`), read here as
`fidelity_reports` for their own page. `sweep_trials` reads the paper's sweeps for theirs.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import pandas as pd
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from sqzdse import analysis
from sqzdse.dashboard.study_data import StudyData
from sqzdse.errors import StorageError
from sqzdse.front import BASELINE_PREFIX, baseline_blocks
from sqzdse.records import FIDELITY_KIND, RETRAINED_PREFIX, STUDY_KIND, StudyInfo
from sqzdse.storage import open_storage, reason, sqlite_file

if TYPE_CHECKING:
    from sqzdse.fidelity import FidelityReport

SEARCH_KIND = "search"  # a study without the `records.STUDY_KIND` attribute: a search


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
        self._studies: dict[str, tuple[int, optuna.Study, str]] = {}  # name -> (id, study, kind)
        self._data: dict[str, StudyData] = {}
        self._file = sqlite_file(url) if make_url(url).get_backend_name() == "sqlite" else None
        self._inode = self._file.stat().st_ino if self._file else None

    def study_names(self) -> list[str]:
        """Names of the studies in the storage, sorted."""
        return self._read(lambda: analysis.study_names(self._storage))

    def study_kinds(self) -> dict[str, str]:
        """Name -> kind (SEARCH_KIND or records.FIDELITY_KIND) of each study, sorted by name."""

        def read() -> dict[str, str]:
            names = analysis.study_names(self._storage)
            fidelity = {
                s.study_name
                for s in self._storage.get_all_studies()
                if s.user_attrs.get(STUDY_KIND) == FIDELITY_KIND
            }
            return {n: FIDELITY_KIND if n in fidelity else SEARCH_KIND for n in names}

        return self._read(read)

    def objectives(self, name: str) -> tuple[tuple[str, str], ...]:
        """The study's (metric, direction) pairs, in the order of its values."""
        return tuple(self._read(lambda: analysis.study_objectives(self._study(name))))

    def version(self, name: str, *, kind: str = SEARCH_KIND) -> str:
        """The current `trials_version` of study `name` of `kind` (reads only new or unfinished
        trials)."""
        return self._read(lambda: self._version(self._study(name, kind=kind)))

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
            records={r.number: r for r in records if r.number is not None},
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

    def fidelity_reports(self, name: str) -> list[FidelityReport]:
        """The report of every plan measured in fidelity study `name`, from the runs stored so
        far (a fidelity run under way fills them in)."""
        from sqzdse import fidelity  # brings PyTorch: only for a storage with a fidelity study

        def read() -> list[FidelityReport]:
            study = self._study(name, kind=FIDELITY_KIND)
            runs = fidelity.finished_runs(study)
            return [fidelity.build_report(plan, runs) for plan in fidelity.stored_plans(study)]

        return self._read(read)

    def _study(self, name: str, *, kind: str = SEARCH_KIND) -> optuna.Study:
        """The cached Study (its storage caches finished trials); reloaded if the study was
        deleted and made again under the same name. StorageError when it is not of `kind`."""
        try:
            study_id = self._storage.get_study_id_from_name(name)
        except KeyError:
            present = ", ".join(analysis.study_names(self._storage)) or "none"
            raise StorageError(
                f"no study named {name!r} in {self.url}; studies there: {present}"
            ) from None
        with self._lock:
            cached = self._studies.get(name)
        if cached is None or cached[0] != study_id:
            study = optuna.load_study(study_name=name, storage=self._storage)
            found = FIDELITY_KIND if study.user_attrs.get(STUDY_KIND) == FIDELITY_KIND else None
            cached = (study_id, study, found or SEARCH_KIND)
            with self._lock:
                self._studies[name] = cached
                self._data.pop(name, None)
        if cached[2] != kind:
            raise StorageError(_wrong_kind(name, self.url, cached[2]))
        return cached[1]

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


def _wrong_kind(name: str, url: str, kind: str) -> str:
    """Why study `name` of `kind` cannot be read as the other kind, and where it is drawn."""
    if kind == FIDELITY_KIND:
        return (
            f"study {name!r} in {url} holds fidelity runs (sqzdse fidelity), not a search; "
            f"the dashboard draws it on its fidelity page, /fidelity/{name}"
        )
    return (
        f"study {name!r} in {url} is a search, not a fidelity study; make one with "
        "`sqzdse fidelity --space SPACE`"
    )


def sweep_storages(url: str, study: str) -> list[str]:
    """Where the dashboard of storage `url` looks for the paper sweep `study`: in `url`, then, for
    an SQLite file, in `<study>.db` beside it (where `sqzdse search --space <study>.yaml` puts it
    by default)."""
    parsed = make_url(url)
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return [url]
    beside = Path(database).with_name(f"{study}.db")
    return [url] if beside == Path(database) else [url, f"sqlite:///{beside}"]


def sweep_trials(url: str, study: str) -> pd.DataFrame | str:
    """The trials of paper sweep `study` (`analysis.load_trials`: read-only, never creates a
    file) from the first of `sweep_storages` that holds it, or why none does."""
    reasons = []
    for where in sweep_storages(url, study):
        beside = Path(make_url(where).database or "")
        if where != url and not beside.is_file():
            reasons.append(f"no {beside} beside it")
            continue
        try:
            return analysis.load_trials(where, study_name=study)
        except StorageError as err:
            reasons.append(str(err))
    return "; ".join(reasons)


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _common_value(frame, column: str) -> int | None:
    values = frame[column].dropna().unique() if column in frame else []
    return int(values[0]) if len(values) == 1 else None
