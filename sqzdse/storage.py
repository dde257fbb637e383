"""Study storages: URLs, drivers, SQLite checks and timeouts, and every error text about them, once.

    open_storage("sqlite:///studies/micro.db", mode="write")   # the search: creates what is missing
    open_storage(url)                                           # readers: never create or write

`mode="read"` never creates a file, a database or a table, and opens an SQLite file through a
read-only connection, so a reader (analysis, export, the dashboard) cannot write to it or hold its
write lock. `mode="write"` creates a missing SQLite file (and its folder) and Optuna's tables.
PostgreSQL (psycopg 3, the `postgres` extra, unless psycopg2 is installed) and MySQL URLs work in
both modes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
import urllib.parse
from pathlib import Path

import optuna
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from sqzdse.errors import StorageError
from sqzdse.retry import DEFAULT_RETRY_SECONDS, READER_RETRY_SECONDS, ResilientStorage

__all__ = [
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "MODES",
    "STUDIES_DIR",
    "check_heartbeat",
    "check_study_name",
    "describe_storage",
    "load_study",
    "open_storage",
    "single_storage_in",
    "sqlite_file",
    "storage_for_space",
    "study_names",
]

STUDIES_DIR = Path("studies")  # where `sqzdse search` puts a study's database by default
# `sqzdse fidelity`'s databases: apart, so that `sqzdse dashboard` still finds one *.db in studies/
FIDELITY_DIR = STUDIES_DIR / "fidelity"
MODES = ("read", "write")
STUDY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# How long an SQLite connection waits for another process's write lock. A writer waits long: several
# workers share one file and a commit is short. A reader (a dashboard refresh) gives up sooner and
# shows what it read before.
SQLITE_BUSY_TIMEOUT_S = {"write": 60, "read": 10}
SQLITE_HEADER = b"SQLite format 3\x00"
CREATION_ATTEMPTS = 3  # opening a new database races other processes creating it
EXAMPLE_URL = "sqlite:///studies/micro.db"
Storage = ResilientStorage


RUNS_SUFFIX = ".retrain"  # sqzdse.front's companion study of runs: <study>.retrain


def storage_for_space(space_name: str, folder: Path = STUDIES_DIR) -> str:
    """The default storage of a search (`sqlite:///studies/<space>.db`), or of a fidelity run in
    FIDELITY_DIR."""
    return f"sqlite:///{folder / space_name}.db"


def single_storage_in(
    folder: Path = STUDIES_DIR,
    *,
    start: str = "start a search first: sqzdse search --space micro.yaml",
) -> str:
    """The URL of the only `*.db` file in `folder`; StorageError naming what is there otherwise
    (with no file, `start` says how to make one)."""
    found = sorted(folder.glob("*.db")) if folder.is_dir() else []
    if len(found) == 1:
        return f"sqlite:///{found[0]}"
    if not found:
        raise StorageError(
            f"no study database in {folder}/; pass --storage URL (e.g. {EXAMPLE_URL}), or {start}"
        )
    listed = ", ".join(str(p) for p in found)
    raise StorageError(
        f"{len(found)} study databases in {folder}/ ({listed}); choose one "
        f"with --storage, e.g. --storage sqlite:///{found[0]}"
    )


def check_study_name(name: str) -> str:
    """`name` when it is a safe study name (it becomes a file name on export)."""
    if not isinstance(name, str) or not STUDY_NAME.match(name):
        raise StorageError(
            f"study name {name!r} is not allowed: use letters, digits, '_', '-' and "
            "'.', starting with a letter, digit or '_' (at most 128 characters)"
        )
    return name


def describe_storage(storage: str | optuna.storages.BaseStorage) -> str:
    """The storage's URL without its password, for messages."""
    url = storage if isinstance(storage, str) else getattr(storage, "url", None)
    if url is None:
        return type(storage).__name__
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


# A writer's heartbeat: a running trial (or run) beats every DEFAULT_HEARTBEAT_INTERVAL seconds
# and counts as dead after DEFAULT_GRACE_PERIOD seconds without one.
DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_GRACE_PERIOD = 10, 60


def check_heartbeat(heartbeat_interval: int, grace_period: int) -> None:
    """StorageError unless the grace period exceeds a heartbeat interval of >= 1 second."""
    if heartbeat_interval < 1 or grace_period <= heartbeat_interval:
        raise StorageError(
            f"--grace-period ({grace_period}) must exceed --heartbeat-interval "
            f"({heartbeat_interval}), which must be >= 1 second"
        )


# ---------------------------------------------------------------------------- opening


def open_storage(
    url: str,
    *,
    mode: str = "read",
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    retry_stale: bool = True,
    retry_seconds: float | None = None,
) -> Storage:
    """Optuna's relational storage at `url`, for reading or for writing (see the module's doc).

    Heartbeats (a writer's running trials say they are alive; dead ones are failed and, with
    `retry_stale`, retried once as a new trial) apply to `mode="write"`. Once open, every database
    call waits out an outage of up to `retry_seconds` (default: DEFAULT_RETRY_SECONDS to write,
    READER_RETRY_SECONDS to read; `sqzdse.retry`). Opening does not wait: raises StorageError with
    one clear message for a bad URL, a missing or damaged file, a missing driver or an unreachable
    server.
    """
    if mode not in MODES:
        raise ValueError(f"`mode` must be 'read' or 'write', got {mode!r}")
    if not isinstance(url, str) or not url.strip():
        raise StorageError(f"no storage given; pass --storage URL, e.g. {EXAMPLE_URL}")
    try:
        backend = make_url(url).get_backend_name()
    except sqlalchemy.exc.ArgumentError:
        raise StorageError(
            f"{url!r} is not a storage URL; expected e.g. {EXAMPLE_URL} or "
            "postgresql://user@host/database"
        ) from None
    url = _with_driver(url)
    engine_kwargs: dict = {"pool_pre_ping": True}
    if backend == "sqlite":
        path = sqlite_file(url, mode=mode)
        engine_kwargs.update(_sqlite_connection(path, mode=mode))
    elif backend == "postgresql":
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    writing = mode == "write"
    retry = (
        optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        if writing and heartbeat_interval and retry_stale
        else None
    )
    for attempt in range(CREATION_ATTEMPTS):
        try:
            return Storage(
                url,
                retry_seconds=retry_seconds
                if retry_seconds is not None
                else (DEFAULT_RETRY_SECONDS if writing else READER_RETRY_SECONDS),
                name=describe_storage(url),
                flag="--storage-retry" if writing else None,  # readers have no such option
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval if writing else None,
                grace_period=grace_period if writing else None,
                heartbeat_stale_trial_callback=retry,
                skip_table_creation=not writing,
            )
        except sqlalchemy.exc.DBAPIError as err:
            if not _lost_creation_race(err) or attempt + 1 == CREATION_ATTEMPTS:
                raise _open_error(url, err) from None
            time.sleep(0.2)
        except ImportError as err:
            raise StorageError(
                f"storage {describe_storage(url)}: a database driver is missing "
                f"({err}); for PostgreSQL install `pip install 'sqzdse[postgres]'`"
            ) from None
        # SQLAlchemy's and the drivers' errors: an unreachable server, a bad URL, a bad file.
        except Exception as err:
            raise _open_error(url, err) from None
    raise AssertionError("unreachable: the last attempt returns or raises")


def _open_error(url: str, err: BaseException) -> StorageError:
    return StorageError(f"cannot open storage {describe_storage(url)}: {reason(err)}")


def _with_driver(url: str) -> str:
    """postgresql:// means psycopg (version 3, our `postgres` extra) unless psycopg2 is there."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            return f"postgresql+psycopg://{rest}"
    return url


def _lost_creation_race(err: sqlalchemy.exc.DBAPIError) -> bool:
    """Another process (a worker, another machine) created the same new database's tables or stamped
    its schema version at the same moment: the database is ready now, so opening it again works."""
    return isinstance(err, sqlalchemy.exc.IntegrityError) or "already exists" in str(err.orig)


def _sqlite_connection(path: Path, *, mode: str) -> dict:
    """Engine arguments for an SQLite file: a busy timeout, and a read-only connection to read."""
    timeout = SQLITE_BUSY_TIMEOUT_S[mode]
    if mode == "write":
        return {"connect_args": {"timeout": timeout}}
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    return {
        "creator": lambda: sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
    }


def sqlite_file(url: str, *, mode: str = "read") -> Path:
    """The file of an `sqlite:///PATH` URL, checked: an SQLite database that is not damaged; when
    missing, an error for reading, a writable folder for writing."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise StorageError(
            f"storage {url!r} names no database file; give an SQLite file, e.g. {EXAMPLE_URL}"
        )
    path = Path(database)
    if path.exists():
        _check_sqlite_file(path, url)
    elif mode == "read":
        raise StorageError(
            f"no study database at {path} (from {url}: no such file); check the "
            "path, or run `sqzdse search --space micro.yaml` to create one"
        )
    else:
        _check_writable_folder(path.parent, url)
    return path


def _check_sqlite_file(path: Path, url: str) -> None:
    if not path.is_file():
        raise StorageError(f"storage {url}: {path} is a folder, not an SQLite file")
    with path.open("rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise StorageError(
            f"storage {url}: {path} is not an SQLite database (corrupt or another "
            "kind of file); move it away or give another --storage"
        )
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            con.execute("PRAGMA schema_version").fetchone()
            if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
    except sqlite3.DatabaseError as err:
        raise StorageError(
            f"storage {url}: {path} is damaged ({err}); restore it from a "
            "copy or give another --storage"
        ) from None


def _check_writable_folder(folder: Path, url: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(
            f"storage {url}: cannot create folder {folder} ({err.strerror})"
        ) from None
    if not os.access(folder, os.W_OK):
        raise StorageError(
            f"storage {url}: folder {folder} is not writable; give a writable --storage"
        )


def reason(err: BaseException) -> str:
    """Why opening or reading a storage failed, in a few words, from the innermost cause (Optuna
    and SQLAlchemy wrap driver errors, with SQL and links)."""
    causes: list[BaseException] = []
    cause: BaseException | None = err
    while cause is not None and cause not in causes:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(getattr(c, "orig", None) or c) for c in causes)
    if "no such table" in text:
        return "it is not an Optuna storage (it has no Optuna tables)"
    if "readonly" in text:
        return (
            "it is not a complete Optuna storage (its version tables are missing) and readers "
            "never write; open it once with `sqzdse search`"
        )
    if "file is not a database" in text:
        return "it is not an SQLite database"
    wrapped = next((c for c in causes if getattr(c, "orig", None) is not None), causes[0])
    first = str(getattr(wrapped, "orig", None) or wrapped).strip().splitlines()
    return first[0] if first else type(wrapped).__name__


# ---------------------------------------------------------------------------- reading studies


def study_names(storage: str | optuna.storages.BaseStorage) -> list[str]:
    """Names of the studies in a storage, sorted; without the companion studies that keep a
    study's retraining runs (`<study>.retrain`, sqzdse.front), which belong to their study."""
    if isinstance(storage, str):
        storage = open_storage(storage)
    try:
        names = optuna.get_all_study_names(storage)
        return sorted(
            n for n in names if not n.endswith(RUNS_SUFFIX) or n[: -len(RUNS_SUFFIX)] not in names
        )
    except (optuna.exceptions.OptunaError, sqlalchemy.exc.SQLAlchemyError) as err:
        raise StorageError(f"cannot read {describe_storage(storage)}: {reason(err)}") from None


def load_study(
    storage: str | optuna.storages.BaseStorage, *, study_name: str | None = None
) -> optuna.Study:
    """Load one study for reading. `study_name` may be left out when the storage holds one study.

    Raises StorageError when the storage holds no study, several studies and no name was given, or
    no study of that name; the message lists the studies present.
    """
    if isinstance(storage, str):
        storage = open_storage(storage)
    names = study_names(storage)
    shown = describe_storage(storage)
    if study_name is None:
        if not names:
            raise StorageError(f"{shown} holds no study yet; run `sqzdse search` to create one")
        if len(names) > 1:
            raise StorageError(
                f"{shown} holds {len(names)} studies; choose one (--study NAME): {', '.join(names)}"
            )
        study_name = names[0]
    elif study_name not in names:
        present = ", ".join(names) if names else "none"
        raise StorageError(f"no study named {study_name!r} in {shown}; studies there: {present}")
    return optuna.load_study(study_name=study_name, storage=storage)
