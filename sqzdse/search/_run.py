"""`run`: a whole search in one call, what `sqzdse search` wraps and a notebook calls.

    from sqzdse.search import run
    done = run("micro", storage="sqlite:///studies/micro.db", n_trials=8)
    done.study.best_trials

It checks everything that can be checked before writing (a refused search writes nothing), opens
or resumes the study, then runs the trials in this process or in `workers` processes that share the
study through its storage. Workers are given the space and the run's settings (`RunSettings`), not
a command line.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from sqzdse.artifacts import DEFAULT_SAVE_WEIGHTS, SAVE_WEIGHTS, artifact_store, default_location
from sqzdse.errors import SqzdseError
from sqzdse.records import validation_label
from sqzdse.retry import DEFAULT_RETRY_SECONDS
from sqzdse.search._loop import DEFAULT_MAX_FAILURES, DEFAULT_MAX_INFEASIBLE, OnTrial, run_search
from sqzdse.search._objective import Objective
from sqzdse.search._progress import progress_line
from sqzdse.search._setup import SearchSetup, make_setup, open_study
from sqzdse.search._workers import resolve_workers, run_workers, worker_devices
from sqzdse.space import SearchSpace, load_space
from sqzdse.storage import (
    DEFAULT_GRACE_PERIOD,
    DEFAULT_HEARTBEAT_INTERVAL,
    check_heartbeat,
    check_study_name,
    open_storage,
    storage_for_space,
)

Say = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """How one search runs, beside its space: shared by every process of it (workers get it)."""

    storage: str  # the study's storage URL
    study_name: str
    # none, front or all (`sqzdse.artifacts.SAVE_WEIGHTS`); None until decided: front where there
    # is an artifact store, else none (`run_in_process` decides, once the data set is checked)
    save_weights: str | None
    artifacts: str | None  # the artifact store, when not the default beside an SQLite study
    max_failures: int
    max_infeasible: int
    heartbeat_interval: int
    grace_period: int
    storage_retry: float

    @property
    def has_store(self) -> bool:
        """Whether trained weights have somewhere to go."""
        return (self.artifacts or default_location(self.storage)) is not None


@dataclass(frozen=True, kw_only=True)
class SearchRun:
    """A finished (or stopped) search: its study, what it measured, where it is stored."""

    study: optuna.Study
    setup: SearchSetup
    settings: RunSettings
    worker_exit_code: int = 0  # the first non-zero exit of a worker process, 0 when none

    @property
    def objectives(self) -> tuple[str, ...]:
        return self.setup.objectives


def run(
    space: SearchSpace | str | os.PathLike[str],
    *,
    storage: str | None = None,
    study_name: str | None = None,
    workers: int | str = 1,
    save_weights: str | None = None,
    artifacts: str | None = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
    max_infeasible: int = DEFAULT_MAX_INFEASIBLE,
    heartbeat_interval: int = DEFAULT_HEARTBEAT_INTERVAL,
    grace_period: int = DEFAULT_GRACE_PERIOD,
    storage_retry: float = DEFAULT_RETRY_SECONDS,
    say: Say | None = None,
    **overrides: Any,
) -> SearchRun:
    """Run (or resume) a search of `space` until its study holds the space's `n_trials`.

    `space` is a SearchSpace, a YAML file or the name of a shipped space; `overrides` are the
    `sqzdse search` flags by their keyword names (n_trials, epochs, dataset, sampler, seed, ...,
    see `SearchSpace.with_overrides`). `storage` defaults to studies/<space>.db, `study_name` to
    the space's name. `workers` processes on this machine share the study (a number, or "auto":
    one on the CPU, WORKERS_PER_GPU per GPU). `save_weights` (none, front, all) defaults to front
    where there is an artifact store. `say` receives the header and one progress line per trial
    (workers print theirs on their own stderr); None runs quietly.

    Raises SqzdseError, before anything is written, for a setting that cannot work; SearchError
    when trials keep failing; KeyboardInterrupt on Ctrl-C, once the trial under way is recorded
    as failed (the same call resumes).
    """
    if not isinstance(space, SearchSpace):
        space = load_space(os.fspath(space))
    if overrides:
        space = space.with_overrides(**overrides)
    check_heartbeat(heartbeat_interval, grace_period)
    count = resolve_workers(workers, space.training.device)
    url = storage or storage_for_space(space.name)
    settings = RunSettings(
        storage=url,
        study_name=check_study_name(space.name if study_name is None else study_name),
        save_weights=save_weights,
        artifacts=artifacts,
        max_failures=_at_least_one(max_failures, "--max-failures"),
        max_infeasible=_at_least_one(max_infeasible, "--max-infeasible"),
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
        storage_retry=storage_retry,
    )
    return run_in_process(space, settings, workers=count, say=say)


def run_in_process(
    space: SearchSpace,
    settings: RunSettings,
    *,
    workers: int = 1,
    say: Say | None = None,
    worker_id: int | None = None,
) -> SearchRun:
    """`run` once its settings are checked: this process's part of the search (`worker_id` is
    set in a worker process, which prints no header and starts no workers)."""
    with warnings.catch_warnings():
        # Optuna's heartbeats and metric names are "experimental": ours to use, not the caller's.
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        return _run_in_process(space, settings, workers=workers, say=say, worker_id=worker_id)


def _run_in_process(
    space: SearchSpace,
    settings: RunSettings,
    *,
    workers: int,
    say: Say | None,
    worker_id: int | None,
) -> SearchRun:
    setup = make_setup(space)
    save_weights = _weights_to_save(settings)
    settings = dataclasses.replace(settings, save_weights=save_weights)
    rdb = open_storage(
        settings.storage,
        mode="write",
        heartbeat_interval=settings.heartbeat_interval,
        grace_period=settings.grace_period,
        retry_seconds=settings.storage_retry,
    )
    study = open_study(
        setup,
        storage=rdb,
        study_name=settings.study_name,
        process=_process_name(worker_id, shared=not settings.storage.startswith("sqlite")),
    )
    tell = say or (lambda line: None)
    if worker_id is None:
        for line in header_lines(study, settings.storage, setup):
            tell(line)
        if not settings.has_store:
            tell(
                "weights are not stored: a study on a server needs --artifacts DIR or "
                "s3://BUCKET for them (sqzdse export-model, sqzdse retrain)"
            )
    code = 0
    if workers > 1 and worker_id is None:
        tell(f"starting {workers} workers")
        code = run_workers(
            space,
            settings,
            devices=worker_devices(space.training.device, workers),
            quiet=say is None,
        )
    else:
        on_trial: OnTrial | None = None
        if say is not None:
            on_trial = lambda s, t, p: say(progress_line(s, t, p, setup.objectives))  # noqa: E731
        store = (
            None if save_weights == "none" else artifact_store(settings.storage, settings.artifacts)
        )
        objective = Objective(
            setup,
            n_trials=space.n_trials,
            device=space.training.device,
            save_weights=save_weights,
            artifacts=store,
        )
        run_search(
            study,
            objective,
            timeout=space.timeout,
            max_failures=settings.max_failures,
            max_infeasible=settings.max_infeasible,
            on_trial=on_trial,
        )
    return SearchRun(study=study, setup=setup, settings=settings, worker_exit_code=code)


def header_lines(study: optuna.Study, storage_url: str, setup: SearchSetup) -> list[str]:
    """What a search says before its first trial: the study, the space, the data, the rungs."""
    space = setup.space
    t = space.training
    lines = [
        f"study {study.study_name!r} in {storage_url}: space {space.name} ({space.hash}), sampler "
        f"{space.sampler.name} (seed {space.sampler.seed}), training seed {t.seed}, objectives "
        f"{', '.join(setup.objectives)}; {t.dataset} at {t.resolution_label}, {t.epochs} epochs, "
        f"{space.n_trials} trials"
    ]
    if setup.splits:
        lines.append(
            f"trained on {setup.splits['train']:,} images, measured on "
            f"{validation_label(setup.splits)}"
        )
    if space.fidelity is not None:
        f = space.fidelity
        lines.append(
            f"successive halving: rungs at epochs {', '.join(map(str, space.rungs))} of "
            f"{t.epochs}, about 1 in {f.eta} trials goes on at each (min_epochs {f.min_epochs}, "
            f"eta {f.eta})"
        )
    if setup.note:
        lines.append(setup.note)
    already = len(study.get_trials(deepcopy=False))
    if already:
        lines.append(f"resuming: the study holds {already} trials")
    return lines


def _weights_to_save(settings: RunSettings) -> str:
    """`save_weights` given or defaulted (front where there is a store, else none); SqzdseError
    naming --artifacts for weights asked of a study that has nowhere to keep them."""
    chosen = settings.save_weights
    if chosen is None:
        chosen = DEFAULT_SAVE_WEIGHTS if settings.has_store else "none"
    elif chosen not in SAVE_WEIGHTS:
        raise SqzdseError(
            f"--save-weights must be one of {', '.join(SAVE_WEIGHTS)}, got {chosen!r}"
        )
    elif chosen != "none" and not settings.has_store:
        artifact_store(settings.storage, settings.artifacts)  # refuses, naming --artifacts
    return chosen


def _at_least_one(value: int, flag: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SqzdseError(f"{flag} must be an integer >= 1, got {value!r}")
    return value


def _process_name(worker_id: int | None, *, shared: bool) -> str | None:
    """What tells this process apart from the others sharing its study (None when it is alone).

    Workers on one machine differ by their id; a storage on a server may have other machines too.
    """
    if shared:
        return f"{socket.gethostname()}/{os.getpid()}/{worker_id}"
    return None if worker_id is None else str(worker_id)
