"""Storage calls that outlive a database's outage: a restart, a failover, a cut connection.

Every call of a study's storage that reads or writes the database is retried with backoff while the
database is unreachable, for up to `retry_seconds` from the first failure (`--storage-retry`), and
goes on when it returns; SQLAlchemy checks a pooled connection before use (`pool_pre_ping`), so the
dead connections of a restarted server are replaced, not reused. One line says when an outage
starts and one when it ends. Past the bound, StorageUnavailable (one message naming the storage,
the reason and how to resume) stops the command; nothing it stored is lost and the same command
resumes.

Not retried: what retrying cannot mend (a full disk, a missing table, a bad value); those become
one StorageError at once. A heartbeat that cannot be written is skipped (the next one may be): the
trial is declared dead only if the outage outlasts the grace period, and `sqzdse.search` then
records its result elsewhere (docs/guides/distributed.md).
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable

import optuna
import sqlalchemy.exc
from optuna.trial import TrialState

from sqzdse.errors import StorageError

DEFAULT_RETRY_SECONDS = (
    300  # search, fidelity, retrain: an outage of up to five minutes is waited out
)
READER_RETRY_SECONDS = 10  # readers (the dashboard, exports) show an error sooner
FIRST_WAIT_S, LONGEST_WAIT_S = 0.5, 10.0  # backoff: doubling from the first wait to the longest

# The database calls of Optuna's RDBStorage, public and those its cache (_CachedStorage) calls.
RETRIED = (
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_directions",
    "get_study_user_attrs", "get_study_system_attrs", "get_trial_user_attrs",
    "get_trial_system_attrs", "get_all_studies", "create_new_trial", "_create_new_trial",
    "set_trial_param", "_set_trial_param", "get_trial_param", "set_trial_intermediate_value",
    "set_trial_user_attr", "set_trial_system_attr", "get_trial_id_from_study_id_trial_number",
    "get_trial", "get_all_trials", "_get_trials", "get_best_trial", "_get_best_trial_id",
    "_get_stale_trial_ids",
)  # fmt: skip

# Words of a driver's error that retrying cannot mend, though SQLAlchemy calls it operational.
_PERMANENT = (
    "disk is full",
    "disk full",
    "no space left",
    "no such table",
    "readonly",
    "read-only",
    "does not exist",
    "authentication failed",
    "permission denied",
)
DISK_FULL = ("disk is full", "disk full", "no space left")


class StorageFault(StorageError):
    """The storage failed under a command that was right: exit code 1, as for a failed search."""

    exit_code = 1


class StorageUnavailable(StorageFault):
    """The database stayed unreachable for longer than the retry bound."""


class DiskFull(StorageFault):
    """The disk under the database is full; the write was rolled back."""


def is_transient(err: BaseException) -> bool:
    """Whether `err` (with its causes) is a lost or refused connection, or a busy database: an
    error that the same call may not meet again in a moment."""
    causes = _causes(err)
    text = " ".join(str(c).lower() for c in causes)
    if any(word in text for word in _PERMANENT):
        return False
    transient = (
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        sqlalchemy.exc.DisconnectionError,
        ConnectionError,
        TimeoutError,
    )
    if any(isinstance(c, transient) for c in causes):
        return True
    return any(type(c).__name__ in ("OperationalError", "InterfaceError") for c in causes)


def is_disk_full(err: BaseException) -> bool:
    text = " ".join(str(c).lower() for c in _causes(err))
    return any(word in text for word in DISK_FULL)


def _causes(err: BaseException | None) -> list[BaseException]:
    causes: list[BaseException] = []
    while err is not None and err not in causes:
        causes.append(err)
        orig = getattr(err, "orig", None)
        if isinstance(orig, BaseException) and orig not in causes:
            causes.append(orig)
        err = err.__cause__ or err.__context__
    return causes


class Outage:
    """The state of one storage's connection as this process sees it, shared by its threads: when
    the current outage began, and the lines that tell a person about it."""

    def __init__(
        self, name: str, retry_seconds: float, say: Callable[[str], None], flag: str | None
    ) -> None:
        self.name = name
        self.retry_seconds = retry_seconds
        self.say = say
        self.flag = flag  # the command's option that sets the bound, to name it; None: none
        self.since: float | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:  # a storage is pickled for worker processes: not the lock
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def failed(self, err: BaseException) -> float:
        """Record a failed call; the seconds the outage has lasted."""
        from sqzdse.storage import reason

        with self._lock:
            now = time.monotonic()
            if self.since is None:
                self.since = now
                flag = f" ({self.flag})" if self.flag else ""
                self.say(
                    f"storage {self.name}: unreachable ({reason(err)}); retrying for up to "
                    f"{self.retry_seconds:g} s{flag}"
                )
            return now - self.since

    def recovered(self) -> None:
        with self._lock:
            if self.since is not None:
                self.say(f"storage {self.name}: back after {time.monotonic() - self.since:.0f} s")
                self.since = None


def say_on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def retried(call: Callable, outage: Outage) -> Callable:
    """`call` retried with backoff while its errors are transient, up to the outage's bound."""

    @functools.wraps(call)
    def wrapper(*args, **kwargs):
        wait = FIRST_WAIT_S
        while True:
            try:
                result = call(*args, **kwargs)
            except Exception as err:
                if not is_transient(err):
                    if is_disk_full(err):
                        raise DiskFull(
                            f"storage {outage.name}: the disk is full; the study is intact (the "
                            "write was rolled back): free some space and run the same command "
                            "to resume"
                        ) from None
                    raise
                lasted = outage.failed(err)
                if lasted >= outage.retry_seconds:
                    from sqzdse.storage import reason

                    longer = f", or give a longer {outage.flag}" if outage.flag else ""
                    raise StorageUnavailable(
                        f"storage {outage.name}: unreachable for {lasted:.0f} s ({reason(err)}); "
                        "stopped. Nothing stored is lost: run the same command to resume once "
                        f"the database is back{longer}"
                    ) from None
                time.sleep(min(wait, max(0.0, outage.retry_seconds - lasted)))
                wait = min(wait * 2, LONGEST_WAIT_S)
                continue
            outage.recovered()
            return result

    return wrapper


class ResilientStorage(optuna.storages.RDBStorage):
    """Optuna's RDBStorage whose database calls outlive an outage (the module's doc)."""

    def __init__(
        self,
        *args,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        name: str = "",
        say: Callable[[str], None] = say_on_stderr,
        flag: str | None = "--storage-retry",
        **kwargs,
    ) -> None:
        # Set before the parent's constructor, which already reads the database.
        name = name or str(args[0] if args else kwargs.get("url"))
        self.outage = Outage(name, retry_seconds, say, flag)
        super().__init__(*args, **kwargs)

    def __getattribute__(self, attr: str):
        value = super().__getattribute__(attr)
        if attr in RETRIED:
            return retried(value, super().__getattribute__("outage"))
        return value

    def set_trial_state_values(self, trial_id, state, values=None) -> bool:
        """Retried like the rest; a retry that finds the trial already in the state and values it
        asked for (the first try was written before its answer was lost) succeeded."""
        first = [True]

        def attempt():
            try:
                return super(ResilientStorage, self).set_trial_state_values(trial_id, state, values)
            except optuna.exceptions.UpdateFinishedTrialError:
                if not first[0] and _already(self, trial_id, state, values):
                    return True
                raise
            finally:
                first[0] = False

        return retried(attempt, self.outage)()

    def record_heartbeat(self, trial_id: int) -> None:
        """Once, never raising: a missed heartbeat is retried by the next one, and a heartbeat
        thread that raised would print a traceback and stop beating."""
        try:
            super().record_heartbeat(trial_id)
        except Exception as err:
            if not is_transient(err):
                return
            self.outage.failed(err)
        else:
            self.outage.recovered()


def _already(storage: ResilientStorage, trial_id: int, state: TrialState, values) -> bool:
    trial = optuna.storages.RDBStorage.get_trial(storage, trial_id)
    same_values = values is None or list(trial.values or []) == [float(v) for v in values]
    return trial.state == state and same_values
