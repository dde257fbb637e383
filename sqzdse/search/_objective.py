"""One trial: suggest a network, count it, refuse it, reuse an earlier result, or train it.

Counts are exact and free, so constraints are checked before any training (an over-budget trial is
PRUNED, never trained); an architecture this study already trained reuses the recorded result;
otherwise the proxy trainer runs. Every trial is written as a `TrialRecord`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from sqzdse.arch import ArchConfig
from sqzdse.records import Source, Status, TrialRecord, analytic_metrics, metrics_of
from sqzdse.search._setup import SearchSetup

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
UNDER_WAY = (TrialState.RUNNING, TrialState.WAITING)


class TrialFailed(Exception):
    """Training a trial failed (non-finite loss, out of memory); the study records it and goes on."""


class SurplusTrial(Exception):
    """Other workers already have the requested number of trials under way."""


def constraint_violations(metrics: dict, constraints: dict[str, float]) -> dict[str, float]:
    """Constraint values in Optuna's convention (feasible when <= 0): metric - budget."""
    return {f"{name}_budget": float(metrics[name] - budget) for name, budget in constraints.items()}


def over_budget(metrics: dict, constraints: dict[str, float]) -> str | None:
    """Why a network is infeasible (every budget it exceeds), or None when it is within them."""
    over = [f"{name} {metrics[name]:,} > budget {budget:,g}"
            for name, budget in constraints.items() if metrics[name] > budget]
    return "; ".join(over) + " (not trained)" if over else None


def software_versions() -> dict[str, str]:
    """The versions a trained trial records, so a result can be traced to the code behind it."""
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
        cfg = self.setup.space.suggest(trial, num_classes=self.setup.num_classes)
        record = TrialRecord(arch=cfg, metrics=analytic_metrics(cfg))
        written = record.write(trial)  # a trial that dies while training still shows its network
        for key, value in constraint_violations(record.metrics,
                                                self.setup.space.constraints).items():
            trial.set_constraint(key, value)
        record = self._outcome(trial, record, written)
        record.write(trial, written=written)
        if record.status is Status.INFEASIBLE:
            raise optuna.TrialPruned(record.failure_reason)
        if record.status is Status.FAILED:
            raise TrialFailed(record.failure_reason)
        return tuple(float(record.metrics[name]) for name in self.setup.objectives)

    def _outcome(self, trial: optuna.Trial, record: TrialRecord, written: dict) -> TrialRecord:
        """The record of the trial once decided: infeasible, reused or trained."""
        reason = over_budget(record.metrics, self.setup.space.constraints)
        if reason is not None:
            return record.replace(status=Status.INFEASIBLE, failure_reason=reason)
        earlier = _trained_twin(trial, record.arch)
        if earlier is not None:
            return record.reusing(earlier)
        try:
            result = self._train(record.arch)
        except KeyboardInterrupt:
            record.replace(status=Status.FAILED,
                           failure_reason="interrupted before training finished").write(
                trial, written=written)
            raise
        trained = record.replace(device=result.device, versions=software_versions(),
                                 curve=tuple(result.curve))
        if result.status != "ok":
            return trained.replace(status=Status.FAILED, failure_reason=result.reason)
        measured = {name: getattr(result, name) for name in metrics_of(source=Source.TRAINED)}
        return trained.replace(status=Status.OK, metrics={
            **record.metrics, **{k: v for k, v in measured.items() if v is not None}})

    def _train(self, cfg: ArchConfig):
        from sqzdse.data import load_dataset
        from sqzdse.train import resolve_device, train_proxy

        training = self.setup.space.training
        data = load_dataset(training.data_spec(), device=resolve_device(self.device))
        return (self.trainer or train_proxy)(cfg, data, training.train_config(device=self.device))

    def _refuse_surplus(self, trial: optuna.Trial) -> None:
        """Several workers may ask for a trial at the same moment; the later ones step back."""
        study = trial.study
        earlier = [t for t in study.get_trials(deepcopy=False, states=FINISHED + UNDER_WAY)
                   if t.number < trial.number]
        if len(earlier) >= self.n_trials:
            TrialRecord(status=Status.FAILED,
                        failure_reason="not needed: the requested number of trials was already "
                                       "under way in other workers").write(trial)
            raise SurplusTrial()


def _trained_twin(trial: optuna.Trial, cfg: ArchConfig) -> TrialRecord | None:
    """The record of an earlier COMPLETE trial of this study that trained exactly this network."""
    for t in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        record = TrialRecord.from_trial(t)
        if record.status is Status.OK and record.arch == cfg:
            return record
    return None

