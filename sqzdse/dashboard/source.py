"""Reading studies for the dashboard: read-only, short transactions, cached between refreshes.

An SQLite storage is opened through a read-only connection (`mode=ro`), so the dashboard can never
write to it, create it, or hold a write lock; each read is one short transaction, so a search
writing to the same file is never blocked for long. Other databases (PostgreSQL, MySQL) are only
read, and their tables are never created.

Optuna's cached storage re-reads only the trials that are new or still running, and the trials frame
is rebuilt only when a trial was added or changed state, so a refresh of an unchanged 5,000-trial
study costs a few milliseconds.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import urllib.parse
from pathlib import Path

import optuna
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from sqzdse import analysis, records
from sqzdse.dashboard.data import StudyData
from sqzdse.errors import StorageError
from sqzdse.study import open_storage

SQLITE_BUSY_TIMEOUT_S = 10  # a reader waits at most this long for a writer's commit
SQLITE_HEADER = b"SQLite format 3\x00"


def open_readonly_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's storage at `url`, for reading only. Never creates a file, a database or a table.

    Raises StorageError for a URL that does not parse, a missing or non-SQLite file, a database
    without Optuna's tables, a missing driver or an unreachable server.
    """
    if not isinstance(url, str) or not url.strip():
        raise StorageError("no storage given; pass --storage URL, e.g. sqlite:///studies/micro.db")
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise StorageError(f"{url!r} is not a storage URL; expected e.g. sqlite:///studies/"
                           "micro.db or postgresql://user@host/database") from None
    if parsed.get_backend_name() != "sqlite":
        return open_storage(url, create=False)  # PostgreSQL, MySQL: never creates Optuna's tables
    path = sqlite_file(url)
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S,
                               check_same_thread=False)

    try:
        return optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"creator": connect},
                                          skip_table_creation=True)
    except (optuna.exceptions.OptunaError, sqlalchemy.exc.SQLAlchemyError, RuntimeError) as err:
        raise StorageError(f"cannot open {url}: {_reason(err)}") from None


def sqlite_file(url: str) -> Path:
    """The existing SQLite file of an `sqlite:///PATH` URL; StorageError otherwise."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise StorageError(f"{url} names no database file; give one, e.g. "
                           "sqlite:///studies/micro.db")
    path = Path(database)
    if not path.exists():
        raise StorageError(f"no study database at {path} (from {url}); check the path, or run "
                           "`sqzdse search --space micro.yaml` to create one")
    if not path.is_file():
        raise StorageError(f"{path} (from {url}) is a folder, not an SQLite file")
    with path.open("rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise StorageError(f"{path} (from {url}) is not an SQLite database")
    return path


def _reason(err: Exception) -> str:
    """Why opening or reading failed, from the innermost cause (Optuna wraps driver errors)."""
    causes: list[BaseException] = []
    while err is not None and err not in causes:
        causes.append(err)
        err = err.__cause__ or err.__context__
    text = " ".join(str(getattr(c, "orig", None) or c) for c in causes)
    if "no such table" in text:
        return "it is not an Optuna storage (it has no Optuna tables)"
    if "readonly" in text:
        return ("it is not a complete Optuna storage (its version tables are missing) and the "
                "dashboard never writes; open it once with `sqzdse studies --storage URL`")
    if "file is not a database" in text:
        return "it is not an SQLite database"
    root = causes[-1]
    first = str(getattr(root, "orig", None) or root).strip().splitlines()
    return first[0] if first else type(root).__name__


def trials_version(trials) -> str:
    """A short digest that changes whenever a trial is added, finishes or changes state."""
    digest = hashlib.blake2b(digest_size=8)
    for t in trials:
        done = t.datetime_complete.isoformat() if t.datetime_complete else ""
        digest.update(f"{t.number}:{t.state.name}:{done};".encode())
    return digest.hexdigest()


class StudySource:
    """Every study of one storage, read-only. Thread-safe: Dash may run callbacks concurrently."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._storage = open_readonly_storage(url)
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
        return self._read(lambda: trials_version(self._study(name).get_trials(deepcopy=False)))

    def load(self, name: str) -> StudyData:
        """The study as StudyData, rebuilt only when its trials changed since the last call."""
        with self._loading:
            return self._read(lambda: self._load(name))

    def _load(self, name: str) -> StudyData:
        study = self._study(name)
        trials = study.get_trials(deepcopy=False)
        version = trials_version(trials)
        with self._lock:
            cached = self._data.get(name)
        if cached is not None and cached.version == version:
            return cached
        attrs = study.user_attrs
        space = attrs.get(records.SPACE)
        training = space.get("training") if isinstance(space, dict) else None
        training = training if isinstance(training, dict) else {}
        frame = analysis.trials_frame(study)
        data = StudyData(
            name=name,
            frame=frame,
            objectives=tuple(frame.attrs.get("objectives", ())),
            num_classes=_int_or_none(attrs.get(records.NUM_CLASSES)),
            resolution=(_int_or_none(training.get("resolution"))
                        or _common_value(frame, "resolution")),
            dataset=training.get("dataset") or attrs.get(records.DATASET),
            training=training,
            archs={t.number: t.user_attrs[records.ARCH] for t in trials
                   if isinstance(t.user_attrs.get(records.ARCH), dict)},
            curves={t.number: t.user_attrs[records.CURVE] for t in trials
                    if isinstance(t.user_attrs.get(records.CURVE), list)},
            accuracy_note=str(attrs.get(records.ACCURACY_NOTE) or ""),
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
            raise StorageError(f"no study named {name!r} in {self.url}; studies there: "
                               f"{present}") from None
        with self._lock:
            cached = self._studies.get(name)
        if cached is not None and cached[0] == study_id:
            return cached[1]
        study = optuna.load_study(study_name=name, storage=self._storage)
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
            raise StorageError(f"the study database {self._file} is gone (from {self.url})") \
                from None
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
            raise StorageError(f"cannot read {self.url}: {_reason(err)}") from None


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _common_value(frame, column: str) -> int | None:
    values = frame[column].dropna().unique() if column in frame else []
    return int(values[0]) if len(values) == 1 else None
