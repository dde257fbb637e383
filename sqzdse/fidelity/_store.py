"""Fidelity runs kept in an Optuna study: one trial per training run, found again by its key.

A process claims a run by creating a RUNNING trial that carries the run's key; when two processes
claim the same run at once, the trial with the lower number keeps it and the other steps back. A
finished run is a COMPLETE trial (value: top-1) or, when training itself failed, a FAIL trial with
the reason; a run whose process was interrupted or died (no heartbeat for the grace period,
`optuna.storages.fail_stale_trials`) is a FAIL trial without a result and is trained again.
Every reader recomputes the report from the stored trials, so resuming, sharing a run between
machines and reporting are the same code.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import optuna
from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled
from optuna.trial import TrialState

from sqzdse.errors import SqzdseError
from sqzdse.records import (
    FIDELITY_KIND,
    STUDY_KIND,
    TOP1,
    TOP5,
    TRAIN_LOSS,
    TRAIN_SECONDS,
    Epoch,
    Status,
    finite_number,
    list_or_empty,
    text_or_none,
)

from ._plan import Plan, Run

if TYPE_CHECKING:
    from sqzdse.arch import ArchConfig
    from sqzdse.space import Training
    from sqzdse.train import TrainResult

KIND, FIDELITY = STUDY_KIND, FIDELITY_KIND  # the study attribute that marks a fidelity study
_KEY, _ROLE, _NETWORK, _SEED = "run_key", "role", "network", "seed"
_ARCH, _TRAINING, _RESULT, _INTERRUPTED, _HOST = "arch", "training", "result", "interrupted", "host"


class Claimable(Protocol):
    """What a claimed run is labelled with: a fidelity `Run`, or `sqzdse.front.FrontRun`."""

    @property
    def key(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def network(self) -> int | str: ...
    @property
    def seed(self) -> int: ...
    @property
    def arch(self) -> ArchConfig: ...
    @property
    def training(self) -> Training: ...


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What one run's training measured: the one owner of its trial's `result` attribute, written
    with `to_dict` and read back with `from_dict` (what a stored result lacks, or holds as
    something else, is None)."""

    status: Status | None  # OK, or FAILED with the `reason`
    reason: str | None
    top1: float | None
    top5: float | None
    train_loss: float | None
    curve: tuple[Epoch, ...]
    train_seconds: float | None
    device: str | None

    @classmethod
    def of(cls, result: TrainResult) -> RunResult:
        return cls(
            status=result.status,
            reason=result.reason,
            top1=result.top1,
            top5=result.top5,
            train_loss=result.train_loss,
            curve=tuple(result.curve),
            train_seconds=result.train_seconds,
            device=result.device,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {
            "status": None if self.status is None else str(self.status),
            "curve": [e.to_dict() for e in self.curve],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        status = data.get("status")
        entries = (e for e in list_or_empty(data.get("curve")) if isinstance(e, Mapping))
        return cls(
            status=Status(status)
            if isinstance(status, str) and status in Status._value2member_map_
            else None,
            reason=text_or_none(data.get("reason")),
            top1=finite_number(data.get(TOP1)),
            top5=finite_number(data.get(TOP5)),
            train_loss=finite_number(data.get(TRAIN_LOSS)),
            curve=tuple(e for e in map(Epoch.from_dict, entries) if e is not None),
            train_seconds=finite_number(data.get(TRAIN_SECONDS)),
            device=text_or_none(data.get("device")),
        )


@dataclass(frozen=True)
class StoredRun:
    """What a finished run measured, as the report reads it (`of` its stored `RunResult`)."""

    key: str
    ok: bool
    reason: str | None
    top1: float | None
    top5: float | None
    curve: tuple[Epoch, ...]
    seconds: float
    device: str

    @property
    def val_loss(self) -> float | None:
        return self.curve[-1].val_loss if self.curve else None

    @property
    def train_loss_sum(self) -> float:
        return sum(e.train_loss for e in self.curve)

    @classmethod
    def of(cls, key: str, result: RunResult) -> StoredRun:
        return cls(
            key=key,
            ok=result.status is Status.OK,
            reason=result.reason,
            top1=result.top1,
            top5=result.top5,
            curve=result.curve,
            seconds=result.train_seconds or 0.0,
            device=str(result.device),
        )


def open_fidelity_study(storage, study_name: str, *, kind: str = FIDELITY) -> optuna.Study:
    """Create the study of runs `study_name` (a fidelity study, or another `kind` of runs study:
    `sqzdse retrain --front`'s), or open it; SqzdseError when a study of that name holds something
    else (a search)."""
    study = optuna.create_study(
        storage=storage, study_name=study_name, direction="maximize", load_if_exists=True
    )
    attrs = study.user_attrs
    if attrs.get(KIND) == kind:
        return study
    if not attrs and not study.get_trials(deepcopy=False):  # new: make it ours
        study.set_user_attr(KIND, kind)
        return study
    # Another process sharing the storage may have created it and made it ours since we looked.
    if study.user_attrs.get(KIND) != kind:
        raise SqzdseError(
            f"study {study_name!r} is not a {kind} study (a search's, or another tool's); "
            "choose another name with --study"
        )
    return study


def is_fidelity_study(study: optuna.Study) -> bool:
    return study.user_attrs.get(KIND) == FIDELITY


def finished_runs(study: optuna.Study) -> dict[str, StoredRun]:
    """Key -> the run's result, for every run that finished (trained, or failed while training)."""
    found: dict[str, StoredRun] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)):
        attrs = trial.user_attrs
        if _KEY not in attrs or _RESULT not in attrs:
            continue  # interrupted, died, or stepped back from a run another process held
        found.setdefault(attrs[_KEY], _stored_run(attrs[_KEY], attrs[_RESULT]))
    return found


def finished_trials(
    study: optuna.Study, *, result: str = _RESULT
) -> dict[str, optuna.trial.FrozenTrial]:
    """Key -> the trial of every run that finished, the one whose attribute `result` holds what
    it measured (the first, when a run was stored twice)."""
    found: dict[str, optuna.trial.FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)):
        if _KEY in trial.user_attrs and result in trial.user_attrs:
            found.setdefault(trial.user_attrs[_KEY], trial)
    return found


def _stored_run(key: str, result: Any) -> StoredRun:
    return StoredRun.of(key, RunResult.from_dict(result if isinstance(result, Mapping) else {}))


def running_keys(study: optuna.Study) -> set[str]:
    """Keys of the runs some process is training now."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return {t.user_attrs[_KEY] for t in running if _KEY in t.user_attrs}


def claim(study: optuna.Study, run: Claimable, *, host: str) -> optuna.Trial | None:
    """A RUNNING trial that holds `run` for this process, or None when another process holds it.

    Its first heartbeat is recorded before the run's key: Optuna fails only trials that have a
    heartbeat once it is stale, so a process killed before its `Heartbeat` thread started would
    otherwise hold the run forever."""
    trial = study.ask()
    storage = study._storage
    if isinstance(storage, BaseHeartbeat) and is_heartbeat_enabled(storage):
        storage.record_heartbeat(trial._trial_id)
    _label(trial, run, host)
    holders = [
        t.number
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.COMPLETE))
        if t.user_attrs.get(_KEY) == run.key
    ]
    if min(holders) != trial.number:
        trial.set_user_attr(_INTERRUPTED, f"run held by trial {min(holders)}")
        study.tell(trial, state=TrialState.FAIL)
        return None
    return trial


def record(study: optuna.Study, trial: optuna.Trial, run: Run, result: TrainResult) -> StoredRun:
    """Store `run`'s finished training: COMPLETE with its top-1, or FAIL with the reason; the run
    as readers will find it."""
    stored = RunResult.of(result)
    try:
        _tell(study, trial, stored)
    except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
        if not taken_over(study, trial):
            raise
        if run.key not in finished_runs(study):
            record_again(study, trial, run, lambda t: _tell(study, t, stored))
    return StoredRun.of(run.key, stored)


def taken_over(study: optuna.Study, trial: optuna.Trial) -> bool:
    """Whether a run this process claimed was finished meanwhile by another process, which took
    this one for dead (its heartbeats went unwritten for longer than the grace period)."""
    return study._storage.get_trial(trial._trial_id).state != TrialState.RUNNING


def record_again(
    study: optuna.Study, dead: optuna.Trial, run: Claimable, finish: Callable[[optuna.Trial], None]
) -> optuna.Trial:
    """Store a result of run whose trial was `taken_over` on a new trial of the run (`finish`
    writes the result on it and tells it): a trained network is not thrown away. Callers first
    check that no process stored the run meanwhile, so that no run is counted twice."""
    trial = study.ask()
    _label(trial, run, study._storage.get_trial(dead._trial_id).user_attrs.get(_HOST, ""))
    finish(trial)
    return trial


def _label(trial: optuna.Trial, run: Claimable, host: str) -> None:
    for name, value in (
        (_KEY, run.key),
        (_ROLE, str(run.role)),
        (_NETWORK, run.network),
        (_SEED, run.seed),
        (_ARCH, run.arch.to_dict()),
        (_TRAINING, dataclasses.asdict(run.training)),
        (_HOST, host),
    ):
        trial.set_user_attr(name, value)


def _tell(study: optuna.Study, trial: optuna.Trial, stored: RunResult) -> None:
    trial.set_user_attr(_RESULT, stored.to_dict())
    if stored.status is Status.OK:
        study.tell(trial, stored.top1)
    else:
        study.tell(trial, state=TrialState.FAIL)


def release(study: optuna.Study, trial: optuna.Trial, why: str) -> None:
    """Give a claimed run back unfinished (Ctrl-C): a later process trains it again."""
    if taken_over(study, trial):
        return  # another process already gave it back for this one
    trial.set_user_attr(_INTERRUPTED, why)
    study.tell(trial, state=TrialState.FAIL)


class Heartbeat:
    """Tells the storage every `interval` seconds that a claimed run's process is alive, so that
    `optuna.storages.fail_stale_trials` fails the runs of processes that died (Optuna beats only
    inside `study.optimize`)."""

    def __init__(self, storage, trial: optuna.Trial, interval: float) -> None:
        self._storage, self._trial_id, self._interval = storage, trial._trial_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while True:
            self._storage.record_heartbeat(self._trial_id)
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


_PLAN_PREFIX = "plan:"


def save_plan(study: optuna.Study, plan: Plan) -> None:
    """Keep the plan in the study, so that readers can rebuild its report while it runs."""
    study.set_user_attr(_PLAN_PREFIX + plan.id, plan.to_dict())


def stored_plans(study: optuna.Study) -> list[Plan]:
    """Every distinct plan measured in the study (plans that train the same runs once)."""
    plans: dict[str, Plan] = {}
    for name, value in study.user_attrs.items():
        if name.startswith(_PLAN_PREFIX):
            plan = Plan.from_dict(value)
            plans.setdefault(plan.id, plan)
    return list(plans.values())
