"""The search loop: trials until the study holds enough finished ones, interrupts handled."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import optuna
from optuna.trial import TrialState

from sqzdse.errors import SearchError
from sqzdse.search._objective import (
    Interrupts,
    Objective,
    SurplusTrial,
    TrialFailed,
    counted,
)


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
                study.optimize(
                    objective,
                    n_trials=1,
                    catch=(TrialFailed, SurplusTrial),
                    callbacks=[callback],
                    gc_after_trial=False,
                )
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
