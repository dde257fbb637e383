"""Successive halving inside one trial: at each rung, rank the trial among the results recorded
there and stop it unless it is in the top 1/eta (`_rungs.decide`).

Optuna cannot prune multi-objective trials (optuna#3450) nor suspend and resume them, so this is a
stopping rule: the trainer calls `Halving` after every epoch and it raises `Stopped` at a rung the
trial does not pass. A trial's values at a rung are stored (`rungs` attribute) before it reads the
others', so two workers at the same rung at once see at least one of each other's results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import optuna

from sqzdse.records import TRAIN_SECONDS, Epoch, Role, Rung, metric
from sqzdse.search._rungs import decide

RUNGS_ATTR = "rungs"


class Stopped(Exception):
    """The trial stopped at a rung; `reason` says where and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def rung_values(objectives: Sequence[str], epoch: Epoch, metrics: Mapping[str, float]) -> tuple:
    """A trial's objective values after `epoch`: accuracy at that epoch, training seconds so far,
    every other objective (exact costs, latency measured before training) as it is."""
    values = []
    for name in objectives:
        if metric(name).role is Role.ACCURACY:
            values.append(float(getattr(epoch, name)))
        elif name == TRAIN_SECONDS:
            values.append(float(epoch.seconds))
        else:
            values.append(float(metrics[name]))
    return tuple(values)


def recorded_at(trials: Sequence, epoch: int, *, other_than: int) -> dict[int, tuple]:
    """{trial number: values} of every trial but `other_than` that recorded values at `epoch`."""
    found = {}
    for t in trials:
        if t.number == other_than:
            continue
        entries = t.user_attrs.get(RUNGS_ATTR)
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and entry.get("epoch") == epoch and "values" in entry:
                found[t.number] = tuple(entry["values"])
    return found


@dataclass
class Halving:
    """The per-epoch hook of one trial's training (the module's doc)."""

    trial: optuna.Trial
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    metrics: Mapping[str, float]  # the trial's exact metrics
    rung_epochs: tuple[int, ...]
    eta: int
    epochs: int
    curve: list[Epoch] = field(default_factory=list)
    rungs: list[Rung] = field(default_factory=list)

    def __call__(self, epoch: Epoch) -> None:
        self.curve.append(epoch)
        if epoch.epoch not in self.rung_epochs:
            return
        values = rung_values(self.objectives, epoch, self.metrics)
        stored = [r.to_dict() for r in self.rungs]
        self.trial.set_user_attr(RUNGS_ATTR, [*stored, {"epoch": epoch.epoch, "values": values}])
        others = recorded_at(
            self.trial.study.get_trials(deepcopy=False), epoch.epoch, other_than=self.trial.number
        )
        decision = decide(values, list(others.values()), directions=self.directions, eta=self.eta)
        rung = Rung(
            epoch=epoch.epoch,
            values=values,
            among=tuple(others),
            continues=decision.continues,
            position=decision.position,
            kept=decision.kept,
            n=decision.n,
            reason=decision.reason,
        )
        self.rungs.append(rung)
        self.trial.set_user_attr(RUNGS_ATTR, [*stored, rung.to_dict()])
        if not decision.continues:
            raise Stopped(f"stopped at epoch {epoch.epoch} of {self.epochs}: {decision.reason}")
