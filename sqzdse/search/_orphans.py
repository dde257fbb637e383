"""A result whose trial was declared dead while its worker was alive.

A worker whose heartbeats could not be written for longer than the grace period (a database outage,
a stalled machine) is taken for dead: another process fails its trial and, as Optuna's stale-trial
callback does, enqueues a retry of the same network (a WAITING copy whose system attribute
`failed_trial` names the first trial of the chain). When the live worker finishes, its trial can no
longer be changed. Its result is then recorded exactly once per network:

1. if a trial of the chain already holds a result, nothing more is written (the network is not
   counted twice);
2. else on the chain's retry: a WAITING one is claimed (atomically, as Optuna claims one), a RUNNING
   one (another worker retraining the same network) is finished with this result, and that worker
   in turn finds the result in place (1.);
3. else (no retry was enqueued) as a new finished trial with the same parameters, marked
   `recorded_for` the dead trial.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from sqzdse.records import Status, TrialRecord

RECORDED_FOR = "recorded_for"  # trial attribute: the number of the trial declared dead


class DeclaredDead(Exception):
    """The trial under way was finished by another process; `record` is this worker's result
    (None when it was still training)."""

    def __init__(self, number: int, record: TrialRecord | None) -> None:
        super().__init__(f"trial {number} was declared dead by another process")
        self.number = number
        self.record = record


def _state(record: TrialRecord) -> TrialState:
    if record.status in (Status.OK, Status.REUSED):
        return TrialState.COMPLETE
    if record.status in (Status.INFEASIBLE, Status.STOPPED):
        return TrialState.PRUNED
    return TrialState.FAIL


def _has_result(trial: FrozenTrial) -> bool:
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED)


def record_orphan(
    study: optuna.Study, number: int, record: TrialRecord, values: list[float] | None
) -> tuple[str, FrozenTrial | None]:
    """Record `record` (with objective `values`) of dead trial `number` as the module's doc says:
    a line for the person watching, and the trial that now holds the result (None: not recorded)."""
    trials = study.get_trials(deepcopy=False)
    root = trials[number].system_attrs.get("failed_trial", number)
    chain = [t for t in trials if t.number == root or t.system_attrs.get("failed_trial") == root]
    state = _state(record)
    said = f"trial {number} was declared dead while its worker was alive"
    if state is TrialState.FAIL:
        return f"{said}; its failure is recorded on the trial ({record.failure_reason})", None
    holder = next((t for t in chain if _has_result(t)), None)
    if holder is not None:
        return (
            f"{said}; trial {holder.number} already holds this network's result, so this one "
            "is not counted twice",
            holder,
        )
    storage = study._storage
    for t in sorted(chain, key=lambda t: t.state != TrialState.WAITING):
        if t.number == number or t.state not in (TrialState.WAITING, TrialState.RUNNING):
            continue
        if t.state == TrialState.WAITING and not storage.set_trial_state_values(
            t._trial_id, TrialState.RUNNING
        ):
            continue  # another worker claimed it first
        try:
            record.write(optuna.Trial(study, t._trial_id))
            study.tell(t.number, values if state is TrialState.COMPLETE else None, state=state)
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
            continue  # finished meanwhile by its own worker
        return f"{said}; its result is recorded on the retry, trial {t.number}", _frozen(study, t)
    mine = trials[number]
    study.add_trial(
        optuna.trial.create_trial(
            state=state,
            values=values if state is TrialState.COMPLETE else None,
            params=mine.params,
            distributions=mine.distributions,
            user_attrs={**record.user_attrs(), RECORDED_FOR: number},
            system_attrs={k: v for k, v in mine.system_attrs.items() if k != "failed_trial"},
        )
    )
    added = next(
        t
        for t in reversed(study.get_trials(deepcopy=False))
        if t.user_attrs.get(RECORDED_FOR) == number
    )
    return f"{said}; its result is recorded as trial {added.number}", added


def _frozen(study: optuna.Study, trial: FrozenTrial) -> FrozenTrial:
    return study._storage.get_trial(trial._trial_id)
