"""Studies: storage URLs, creating and resuming studies, the objective, and the search loop.

One trial: the space suggests an ArchConfig; its counts are exact and free, so constraints are checked
before any training (an over-budget trial is PRUNED, never trained); an architecture this study
already trained reuses the recorded result; otherwise the proxy trainer runs. What a trial stores is
described in `sqzdse.records`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import sqlalchemy.exc
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from sqzdse import records as R
from sqzdse.arch import ArchConfig, model_size_bytes, resolve
from sqzdse.errors import StorageError
from sqzdse.samplers import make_sampler
from sqzdse.space import SearchSpace

STUDIES_DIR = Path("studies")
STUDY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
UNDER_WAY = (TrialState.RUNNING, TrialState.WAITING)
SQLITE_BUSY_TIMEOUT_S = 60
STORAGE_INIT_ATTEMPTS = 3  # opening a new database races other processes creating it


# ---------------------------------------------------------------------------- storage


def default_storage(space_name: str) -> str:
    return f"sqlite:///{STUDIES_DIR / space_name}.db"


def check_study_name(name: str) -> str:
    if not isinstance(name, str) or not STUDY_NAME.match(name):
        raise StorageError(f"study name {name!r} is not allowed: use letters, digits, '_', '-' and "
                           "'.', starting with a letter, digit or '_' (at most 128 characters)")
    return name


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, None for other databases."""
    if not url.startswith("sqlite:"):
        return None
    path = url.split("sqlite:///", 1)[-1] if url.startswith("sqlite:///") else ""
    if not path or path.startswith(":memory:"):
        raise StorageError(f"storage {url!r}: give an SQLite file, e.g. sqlite:///studies/micro.db")
    return Path(path)


def open_storage(url: str, *, create: bool, heartbeat_interval: int | None = None,
                 grace_period: int | None = None) -> optuna.storages.RDBStorage:
    """Optuna's relational storage at `url`. `create=False` never creates a database."""
    url = with_driver(url)
    path = sqlite_path(url)
    engine_kwargs: dict = {"pool_pre_ping": True}
    if path is not None:
        _check_sqlite_file(path, create=create, url=url)
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    elif url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    retry = (optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
             if heartbeat_interval else None)
    for attempt in range(STORAGE_INIT_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                grace_period=grace_period, heartbeat_stale_trial_callback=retry,
                skip_table_creation=not create)
        except sqlalchemy.exc.DBAPIError as err:
            if not _lost_creation_race(err) or attempt + 1 == STORAGE_INIT_ATTEMPTS:
                raise StorageError(f"cannot open storage {describe_storage(url)}: "
                                   f"{first_line(err)}") from None
            time.sleep(0.2)
        except ImportError as err:
            raise StorageError(f"storage {describe_storage(url)}: a database driver is missing "
                               f"({err}); for PostgreSQL install `pip install 'sqzdse[postgres]'`") \
                from None
        except Exception as err:  # SQLAlchemy and driver errors: unreachable server, bad URL, bad file
            raise StorageError(f"cannot open storage {describe_storage(url)}: "
                               f"{first_line(err)}") from None


def _lost_creation_race(err: sqlalchemy.exc.DBAPIError) -> bool:
    """Another process (a worker, another machine) created the same new database's tables or stamped
    its schema version at the same moment: the database is ready now, so opening it again works."""
    return isinstance(err, sqlalchemy.exc.IntegrityError) or "already exists" in str(err.orig)


def with_driver(url: str) -> str:
    """postgresql:// means psycopg (version 3, our `postgres` extra) unless psycopg2 is there."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            return f"postgresql+psycopg://{rest}"
    return url


def _check_sqlite_file(path: Path, *, create: bool, url: str) -> None:
    if path.exists():
        if path.is_dir():
            raise StorageError(f"storage {url}: {path} is a folder, not an SQLite file")
        with path.open("rb") as f:
            header = f.read(16)
        if header and header != b"SQLite format 3\x00":
            raise StorageError(f"storage {url}: {path} is not an SQLite database (corrupt or another "
                               "kind of file); move it away or give another --storage")
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
                con.execute("PRAGMA schema_version").fetchone()
                if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("quick_check failed")
        except sqlite3.DatabaseError as err:
            raise StorageError(f"storage {url}: {path} is damaged ({err}); restore it from a "
                               "copy or give another --storage") from None
        return
    if not create:
        raise StorageError(f"storage {url}: no such file {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(f"storage {url}: cannot create folder {path.parent} ({err.strerror})") \
            from None
    if not os.access(path.parent, os.W_OK):
        raise StorageError(f"storage {url}: folder {path.parent} is not writable; give a writable "
                           "--storage")


def describe_storage(storage: str | optuna.storages.BaseStorage) -> str:
    """The storage's URL without its password, for messages."""
    url = storage if isinstance(storage, str) else getattr(storage, "url", None)
    if url is None:
        return type(storage).__name__
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def first_line(err: BaseException) -> str:
    """The first line of a database error's own message (SQLAlchemy wraps it with SQL and links)."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return text[0] if text else type(err).__name__


# ---------------------------------------------------------------------------- studies


@dataclass(frozen=True)
class SearchSetup:
    """Everything decided before the first trial: the space, the data's classes, the objectives."""

    space: SearchSpace
    num_classes: int
    objectives: tuple[str, ...]
    note: str = ""

    @property
    def directions(self) -> list[str]:
        return [R.METRICS[name][0] for name in self.objectives]


def make_setup(space: SearchSpace) -> SearchSetup:
    from sqzdse.data import dataset_num_classes

    num_classes = dataset_num_classes(data_spec(space))
    objectives, note = space.resolve_objectives(num_classes)
    return SearchSetup(space, num_classes, objectives, note)


def data_spec(space: SearchSpace):
    from sqzdse.data import DataSpec

    t = space.training
    return DataSpec(name=t.dataset, root=t.data_root, resolution=t.resolution,
                    train_per_class=t.train_per_class, val_per_class=t.val_per_class, seed=t.seed)


def open_study(setup: SearchSetup, *, storage, study_name: str, sampler=None,
               process: str | None = None) -> optuna.Study:
    """Create the study, or resume it when it was made from the same space (same hash).

    `process` names this process when it is one of several sharing the study (see `sampler_seed`).
    """
    check_study_name(study_name)
    space = setup.space
    if sampler is None:
        seed = sampler_seed(space.sampler.seed, trials_before=_trial_count(storage, study_name),
                            process=process)
        sampler = make_sampler(space.sampler.name, seed=seed, options=dict(space.sampler.options),
                               grid=space.searched_params)
    try:
        study = optuna.create_study(storage=storage, study_name=study_name, sampler=sampler,
                                    directions=setup.directions, load_if_exists=True)
    except ValueError as err:  # directions differ from the stored study's
        raise StorageError(f"study {study_name!r} exists with other objectives ({err}); start a "
                           "new study with --study NAME") from None
    stored_hash = study.user_attrs.get(R.SPACE_HASH)
    if stored_hash is None:
        study.set_metric_names(list(setup.objectives))
        study.set_user_attr(R.SPACE_HASH, space.hash)
        study.set_user_attr(R.SPACE, space.to_dict())
        study.set_user_attr(R.OBJECTIVES, [[n, R.METRICS[n][0]] for n in setup.objectives])
        study.set_user_attr(R.DATASET, space.training.dataset)
        study.set_user_attr(R.NUM_CLASSES, setup.num_classes)
        study.set_user_attr(R.ACCURACY_NOTE, setup.note)
    elif stored_hash != space.hash:
        raise StorageError(
            f"study {study_name!r} was created from a different search space (stored hash "
            f"{stored_hash}, this space {space.hash}): its trials would not be comparable. Start a "
            f"new study with --study {study_name}-2 (or another --storage), or restore the space "
            "the study was made with")
    elif study.metric_names != list(setup.objectives):
        raise StorageError(f"study {study_name!r} optimises {study.metric_names}, not "
                           f"{list(setup.objectives)}; start a new study with --study NAME")
    return study


def sampler_seed(seed: int, *, trials_before: int, process: str | None) -> int:
    """The seed of this process's sampler.

    One process on a new study uses the space's seed, so that run is reproducible. A resumed study, or
    one of several processes sharing it, mixes in the trials already there and the process's name:
    with the plain seed, a resumed random sampler would draw its first trials again and parallel
    workers would all draw the same architectures.
    """
    if trials_before == 0 and process is None:
        return seed
    digest = hashlib.sha256(f"{seed}/{trials_before}/{process}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _trial_count(storage: optuna.storages.BaseStorage, study_name: str) -> int:
    try:
        return storage.get_n_trials(storage.get_study_id_from_name(study_name))
    except KeyError:  # no such study yet
        return 0


# ---------------------------------------------------------------------------- the objective


class TrialFailed(Exception):
    """Training a trial failed (non-finite loss, out of memory); the study records it and goes on."""


class SurplusTrial(Exception):
    """Other workers already have the requested number of trials under way."""


def analytic_metrics(cfg: ArchConfig) -> dict[str, int]:
    r = resolve(cfg)
    return {"params": r.params, "macs": r.macs,
            "size_bytes_32bit": model_size_bytes(r.params, 32),
            "size_bytes_8bit": model_size_bytes(r.params, 8)}


def constraint_violations(metrics: dict, constraints: dict[str, float]) -> dict[str, float]:
    """Constraint values in Optuna's convention (feasible when <= 0): metric - budget."""
    return {f"{name}_budget": float(metrics[name] - budget) for name, budget in constraints.items()}


def _versions() -> dict[str, str]:
    import torch

    from sqzdse import __version__
    return {"sqzdse": __version__, "torch": torch.__version__, "optuna": optuna.__version__}


@dataclass
class Objective:
    """The function Optuna calls once per trial."""

    setup: SearchSetup
    n_trials: int
    device: str = "auto"
    trainer: Callable | None = None  # (cfg, data, config) -> TrainResult; the proxy trainer by default
    current: int | None = None

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        self.current = trial.number
        self._refuse_surplus(trial)
        space = self.setup.space
        cfg = space.suggest(trial, num_classes=self.setup.num_classes)
        metrics: dict = analytic_metrics(cfg)
        trial.set_user_attr(R.ARCH, cfg.to_dict())
        for key, value in metrics.items():
            trial.set_user_attr(key, value)

        for key, value in constraint_violations(metrics, space.constraints).items():
            trial.set_constraint(key, value)
        over = [f"{name} {metrics[name]:,} > budget {budget:,g}"
                for name, budget in space.constraints.items() if metrics[name] > budget]
        if over:
            trial.set_user_attr(R.STATUS, "infeasible")
            trial.set_user_attr(R.FAILURE_REASON, "; ".join(over) + " (not trained)")
            raise optuna.TrialPruned(over[0])

        earlier = _trained_twin(trial, cfg)
        if earlier is not None:
            for key in R.TRAINED_METRICS + (R.CURVE, R.DEVICE, R.VERSIONS):
                if key in earlier.user_attrs:
                    trial.set_user_attr(key, earlier.user_attrs[key])
            trial.set_user_attr(R.STATUS, "reused")
            trial.set_user_attr(R.REUSED_FROM, earlier.number)
            metrics.update({k: earlier.user_attrs.get(k) for k in R.TRAINED_METRICS})
            return tuple(float(metrics[name]) for name in self.setup.objectives)

        result = self._train(trial, cfg)
        trial.set_user_attr(R.DEVICE, result.device)
        trial.set_user_attr(R.VERSIONS, _versions())
        trial.set_user_attr(R.CURVE, result.curve)
        if result.status != "ok":
            trial.set_user_attr(R.STATUS, "failed")
            trial.set_user_attr(R.FAILURE_REASON, result.reason)
            raise TrialFailed(result.reason)
        for key in R.TRAINED_METRICS:
            metrics[key] = getattr(result, key)
            if metrics[key] is not None:
                trial.set_user_attr(key, metrics[key])
        trial.set_user_attr(R.STATUS, "ok")
        return tuple(float(metrics[name]) for name in self.setup.objectives)

    def _train(self, trial, cfg):
        from sqzdse.data import load_dataset
        from sqzdse.train import TrainConfig, resolve_device, train_proxy

        t = self.setup.space.training
        config = TrainConfig(epochs=t.epochs, seed=t.seed, device=self.device,
                             **({"batch_size": t.batch_size} if t.batch_size else {}))
        try:
            data = load_dataset(data_spec(self.setup.space), device=resolve_device(self.device))
            return (self.trainer or train_proxy)(cfg, data, config)
        except KeyboardInterrupt:
            trial.set_user_attr(R.STATUS, "failed")
            trial.set_user_attr(R.FAILURE_REASON, "interrupted before training finished")
            raise

    def _refuse_surplus(self, trial: optuna.Trial) -> None:
        """Several workers may ask for a trial at the same moment; the later ones step back."""
        study = trial.study
        earlier = [t for t in study.get_trials(deepcopy=False, states=FINISHED + UNDER_WAY)
                   if t.number < trial.number]
        if len(earlier) >= self.n_trials:
            trial.set_user_attr(R.STATUS, "failed")
            trial.set_user_attr(R.FAILURE_REASON, "not needed: the requested number of trials "
                                                  "was already under way in other workers")
            raise SurplusTrial()


def _trained_twin(trial: optuna.Trial, cfg: ArchConfig):
    """An earlier COMPLETE trial of this study that trained exactly this architecture."""
    arch = cfg.to_dict()
    for t in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get(R.STATUS) == "ok" and t.user_attrs.get(R.ARCH) == arch:
            return t
    return None


# ---------------------------------------------------------------------------- the loop


@dataclass
class Progress:
    """What the loop reports after each trial of this run."""

    target: int
    started: float = field(default_factory=time.monotonic)
    run_trials: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def count_states(study: optuna.Study) -> dict[TrialState, int]:
    counts = dict.fromkeys(TrialState, 0)
    for t in study.get_trials(deepcopy=False):
        counts[t.state] += 1
    return counts


@contextlib.contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[Callable[[], bool]]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, and are remembered.

    Python ignores an exception raised while a finalizer runs, so an interrupt can be swallowed in
    the middle of training; the loop asks the returned function after each trial and stops then.
    """
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    signals = (signal.SIGINT, signal.SIGTERM)
    try:
        previous = {s: signal.signal(s, handler) for s in signals}
    except ValueError:  # not the main thread
        yield lambda: False
        return
    try:
        yield lambda: bool(received)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_search(study: optuna.Study, objective: Objective, *, timeout: float | None = None,
               on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial, Progress], None] = None,
               poll_seconds: float = 1.0) -> Progress:
    """Run trials until the study holds `objective.n_trials` finished (COMPLETE or PRUNED) trials.

    Failed trials do not count: a rerun (or another worker) makes up for them. KeyboardInterrupt
    (Ctrl-C, SIGTERM) propagates after the trial under way is recorded as FAIL.
    """
    progress = Progress(target=objective.n_trials)

    def callback(study, frozen):
        progress.run_trials += 1
        if on_trial is not None:
            on_trial(study, frozen, progress)

    with interrupts_as_keyboard_interrupt() as interrupted:
        try:
            while timeout is None or progress.elapsed() < timeout:
                counts = count_states(study)
                done = sum(counts[s] for s in FINISHED)
                if done >= objective.n_trials:
                    break
                if done + sum(counts[s] for s in UNDER_WAY) - counts[TrialState.WAITING] \
                        >= objective.n_trials:
                    # Others are running the last trials: wait, and fail theirs if they go stale.
                    optuna.storages.fail_stale_trials(study)
                    time.sleep(poll_seconds)
                    continue
                study.optimize(objective, n_trials=1, catch=(TrialFailed, SurplusTrial),
                               callbacks=[callback], gc_after_trial=False)
                if interrupted():
                    raise KeyboardInterrupt("an interrupt was swallowed during the trial")
        except KeyboardInterrupt:
            _fail_if_running(study, objective.current)
            raise
    return progress


def _fail_if_running(study: optuna.Study, number: int | None) -> None:
    if number is None:
        return
    if study.get_trials(deepcopy=False)[number].state == TrialState.RUNNING:
        study.tell(number, state=TrialState.FAIL)
