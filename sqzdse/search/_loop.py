"""The search loop: trials until the study holds enough finished ones, interrupts handled."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna
from optuna.storages._heartbeat import get_heartbeat_thread, is_heartbeat_enabled
from optuna.trial import FrozenTrial, TrialState

from sqzdse.errors import SearchError, StorageError
from sqzdse.retry import say_on_stderr
from sqzdse.search._objective import (
    Interrupts,
    Objective,
    SurplusTrial,
    TrialFailed,
    counted,
)
from sqzdse.search._orphans import DeclaredDead, record_orphan


@dataclass
class Progress:
    """What the loop reports after each trial of this run."""

    target: int
    started: float = field(default_factory=time.monotonic)
    run_trials: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def count_trials(study: optuna.Study) -> tuple[int, int]:
    """(trials that count towards n_trials, trials running)."""
    done = running = 0
    for t in study.get_trials(deepcopy=False):
        done += counted(t)
        running += t.state == TrialState.RUNNING
    return done, running


OnTrial = Callable[[optuna.Study, optuna.trial.FrozenTrial, Progress], None]


DEFAULT_MAX_FAILURES = 10
DEFAULT_MAX_INFEASIBLE = 200


def run_search(
    study: optuna.Study,
    objective: Objective,
    *,
    timeout: float | None = None,
    on_trial: OnTrial | None = None,
    poll_seconds: float = 1.0,
    max_failures: int = DEFAULT_MAX_FAILURES,
    max_infeasible: int = DEFAULT_MAX_INFEASIBLE,
    say: Callable[[str], None] = say_on_stderr,
) -> Progress:
    """Run trials until the study holds `objective.n_trials` trials with a result (trained,
    stopped at a rung, or reused: `counted`).

    Failed trials do not count: a rerun (or another worker) makes up for them, but `max_failures`
    failed trials in a row stop the search with SearchError naming their reasons (every network
    running out of memory would otherwise fill the study forever). Infeasible draws do not count
    either; `max_infeasible` of them in a row stop the search: the constraints exclude nearly all
    of the space. KeyboardInterrupt (Ctrl-C, SIGTERM) propagates after the trial under way is
    recorded as FAIL.
    """
    progress = Progress(target=objective.n_trials)

    def callback(study, frozen):
        progress.run_trials += 1
        if on_trial is not None:
            on_trial(study, frozen, progress)

    with Interrupts().installed() as interrupts:
        objective.interrupts = interrupts
        try:
            while timeout is None or progress.elapsed() < timeout:
                done, running = count_trials(study)
                if done >= objective.n_trials:
                    break
                if done + running >= objective.n_trials:
                    # Others are running the last trials: wait, and fail theirs if they go stale.
                    optuna.storages.fail_stale_trials(study)
                    time.sleep(poll_seconds)
                    continue
                run_trial(study, objective, callback, say=say)
                if interrupts:
                    raise KeyboardInterrupt("interrupted between trials")
                if len(objective.failures) >= max_failures:
                    raise SearchError(_failures_message(objective.failures))
                if len(objective.infeasible) >= max_infeasible:
                    raise SearchError(_infeasible_message(objective.infeasible))
        except KeyboardInterrupt:
            _fail_if_running(study, objective.current)
            raise
        finally:
            objective.interrupts = None
    return progress


def run_trial(
    study: optuna.Study,
    objective: Objective,
    callback: Callable[[optuna.Study, FrozenTrial], None],
    *,
    say: Callable[[str], None],
) -> None:
    """One trial, asked and told here rather than by `Study.optimize`, whose telling cannot
    handle a trial that another process finished meanwhile (it raises inside its own cleanup).
    Samplers see the trial as inside an optimize loop, as `Study.optimize` shows them one (the
    grid sampler stops the loop once its grid is done: here the study's trial count decides)."""
    study._stop_flag = False
    study._thread_local.in_optimize_loop = True
    try:
        _run_trial(study, objective, callback, say=say)
    finally:
        study._thread_local.in_optimize_loop = False


def _run_trial(study, objective, callback, *, say) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if is_heartbeat_enabled(study._storage):
            optuna.storages.fail_stale_trials(study)
    trial = study.ask()
    values, state = None, TrialState.COMPLETE
    with get_heartbeat_thread(trial._trial_id, study._storage):
        try:
            values = objective(trial)
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except (TrialFailed, SurplusTrial):
            state = TrialState.FAIL
        except DeclaredDead as dead:
            return _orphaned(study, dead.number, dead.record, objective, callback, say)
        except StorageError:
            raise  # the database is away or its disk full: telling would fail the same way
        except Exception:
            study.tell(trial, state=TrialState.FAIL)  # a bug: recorded, then raised
            raise
    try:
        study.tell(trial, values, state=state)
    except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
        if study._storage.get_trial(trial._trial_id).state == TrialState.RUNNING:
            raise  # a value Optuna refuses, not a trial finished elsewhere
        return _orphaned(study, trial.number, objective.pending, objective, callback, say)
    callback(study, study._storage.get_trial(trial._trial_id))


def _orphaned(study, number, record, objective, callback, say) -> None:
    if record is None:
        say(
            f"trial {number} was declared dead while its worker was alive (its heartbeats could "
            "not be written); its retry trains the network again"
        )
        return
    names = objective.setup.objectives
    values = (
        [float(record.metrics[n]) for n in names] if set(names) <= set(record.metrics) else None
    )
    line, holder = record_orphan(study, number, record, values)
    say(line)
    if holder is not None:
        callback(study, holder)


def _failures_message(reasons: list[str]) -> str:
    counted = Counter(reasons)
    listed = "; ".join(f"{reason} ({n}x)" if n > 1 else reason for reason, n in counted.items())
    return (
        f"stopped: the last {len(reasons)} trials all failed (--max-failures {len(reasons)}). "
        f"Reasons: {listed}. Fix the cause, or raise --max-failures, and run the same command "
        "to resume"
    )


def _infeasible_message(reasons: list[str]) -> str:
    return (
        f"stopped: the last {len(reasons)} networks drawn were all over the constraints' budgets "
        f"(the last: {reasons[-1]}): the constraints exclude nearly all of the space. Raise the "
        "budgets in `constraints`, narrow the metaparameters' ranges towards smaller networks, or "
        f"raise --max-infeasible ({len(reasons)})"
    )


def _fail_if_running(study: optuna.Study, number: int | None) -> None:
    if number is None:
        return
    if study.get_trials(deepcopy=False)[number].state == TrialState.RUNNING:
        study.tell(number, state=TrialState.FAIL)
