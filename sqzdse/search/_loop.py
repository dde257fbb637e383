"""The search loop: trials until the study holds enough finished ones, interrupts handled."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import optuna
from optuna.trial import TrialState

from sqzdse.search._objective import FINISHED, UNDER_WAY, Objective, SurplusTrial, TrialFailed


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


OnTrial = Callable[[optuna.Study, optuna.trial.FrozenTrial, Progress], None]


def run_search(study: optuna.Study, objective: Objective, *, timeout: float | None = None,
               on_trial: OnTrial | None = None, poll_seconds: float = 1.0) -> Progress:
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
                if done + counts[TrialState.RUNNING] >= objective.n_trials:
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
