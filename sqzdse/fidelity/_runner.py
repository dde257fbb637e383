"""Train every run of a plan that the study does not hold yet, with progress lines and an ETA."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import optuna

from sqzdse.errors import SqzdseError
from sqzdse.records import PARAMS, TOP1, Status, analytic_metrics, format_clock, format_value

from . import _store
from ._plan import Plan, Run, RunRole

if TYPE_CHECKING:
    from sqzdse.train import TrainResult

WAIT_SECONDS = 5.0  # how often to look again while other processes train the last runs


@dataclass
class _Clock:
    """Wall-clock time of this process, and the estimate of the time left."""

    start: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @staticmethod
    def eta(plan: Plan, todo: list[Run], stored: dict[str, _store.StoredRun]) -> str:
        """The time left for `todo`. A network's runs cost about its proxy run's seconds times
        the role's ratio (reference over proxy seconds, from the networks that have both): big
        networks are slow in both. Before any reference run has finished, the ratio is guessed
        from epochs x training images, and the estimate says so with a `~`."""
        seconds: dict[tuple[RunRole, int], list[float]] = {}
        for run in plan.runs():
            if run.key in stored and stored[run.key].ok:
                seconds.setdefault((run.role, run.network), []).append(stored[run.key].seconds)
        proxy = {n: sum(v) / len(v) for (role, n), v in seconds.items() if role is RunRole.PROXY}
        if not proxy:
            return "eta ?"
        ratios = [
            sum(v) / len(v) / proxy[n]
            for (role, n), v in seconds.items()
            if role is RunRole.REFERENCE and n in proxy
        ]
        guessed = not ratios
        ratio = {
            RunRole.PROXY: 1.0,
            RunRole.REFERENCE: (
                sum(ratios) / len(ratios)
                if ratios
                else _work(plan, RunRole.REFERENCE) / _work(plan, RunRole.PROXY)
            ),
        }
        typical = sum(proxy.values()) / len(proxy)
        left = sum(proxy.get(r.network, typical) * ratio[r.role] for r in todo)
        return f"eta {'~' if guessed else ''}{format_clock(left)}"


def _work(plan: Plan, role: RunRole) -> float:
    """Epochs x training images per class (the full split counted as 6,000/class, about
    Fashion-MNIST's and CIFAR-10's): a rough measure of one run's cost for the first estimate."""
    setting = plan.setting(role)
    per_class = setting.train_per_class or 6000
    # a plan trains at one resolution per setting (`make_plan`)
    return setting.epochs * per_class * (setting.resolutions[0] / plan.proxy.resolutions[0]) ** 2


def run_plan(
    plan: Plan,
    study: optuna.Study,
    *,
    echo: Callable[[str], None],
    host: str,
    heartbeat_interval: float,
    train: Callable[[Run], TrainResult],
    interrupts,
) -> None:
    """Train the plan's runs that are neither stored nor being trained by another process, then
    wait for the others' runs; `train(run)` returns a TrainResult. Ctrl-C (or SIGTERM through
    `interrupts`) gives the run under way back and raises KeyboardInterrupt."""
    runs = plan.runs()
    clock = _Clock()
    while True:
        optuna.storages.fail_stale_trials(study)
        stored = _store.finished_runs(study)
        running = _store.running_keys(study)
        todo = [r for r in runs if r.key not in stored and r.key not in running]
        if not todo:
            if not any(r.key in running for r in runs):
                return
            with interrupts.armed():  # holding nothing: Ctrl-C stops the wait at once
                time.sleep(WAIT_SECONDS)  # another process holds the last runs
            continue
        run = todo[0]
        trial = _store.claim(study, run, host=host)
        if trial is None:
            continue
        try:
            with _store.Heartbeat(study._storage, trial, heartbeat_interval), interrupts.armed():
                result = train(run)
        except KeyboardInterrupt:
            _store.release(study, trial, "interrupted")
            raise
        except SqzdseError:
            _store.release(study, trial, "could not start")
            raise
        stored[run.key] = _store.record(study, trial, run, result)
        done = len(runs) - len(todo) + 1
        echo(_progress(plan, run, result, done, len(runs), clock, todo[1:], stored))


def _progress(
    plan: Plan,
    run: Run,
    result: TrainResult,
    done: int,
    total: int,
    clock: _Clock,
    todo: list[Run],
    stored: dict[str, _store.StoredRun],
) -> str:
    """`[ 5/72] proxy     network  5/24 seed 1  params 123,456  top-1 81.20%  8.1 s | ...`."""
    params = analytic_metrics(run.arch)[PARAMS]
    width = len(str(total))
    count = len(plan.networks)
    outcome = (
        f"top-1 {format_value(TOP1, result.top1)}"
        if result.status is Status.OK
        else f"failed: {result.reason}"
    )
    return (
        f"[{done:>{width}}/{total}] {run.role:<9} network {run.network + 1:>{len(str(count))}}/"
        f"{count} seed {run.seed}  params {params:,}  {outcome}  {result.train_seconds:.1f} s"
        f" | elapsed {format_clock(clock.elapsed())}  {clock.eta(plan, todo, stored)}"
    )
