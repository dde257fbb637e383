"""One trial: suggest a network, count it, refuse it, reuse an earlier result, or train it.

Counts are exact and free, so constraints are checked before any training (an over-budget trial is
PRUNED, never trained, and does not count towards `n_trials`); an architecture this study already
trained, or stopped at a rung, reuses the recorded result; otherwise the proxy trainer runs, under
successive halving when the space has a `fidelity` section (`_halving`). Every trial is written as
a `TrialRecord`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from sqzdse.arch import ArchConfig
from sqzdse.artifacts import save_weights
from sqzdse.dominance import as_minimization, dominated
from sqzdse.errors import SqzdseError, StorageError
from sqzdse.records import (
    COMPRESSED_BYTES,
    INT8_BYTES,
    LATENCY_INT8_MS,
    LATENCY_MS,
    TOP1_COMPRESSED,
    TOP1_INT8,
    TOP5_COMPRESSED,
    TOP5_INT8,
    TRAIN_SECONDS,
    Source,
    Status,
    TrialRecord,
    analytic_metrics,
    metric,
    metrics_of,
)
from sqzdse.search._halving import Halving, Stopped
from sqzdse.search._orphans import DeclaredDead
from sqzdse.search._setup import SearchSetup

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
UNDER_WAY = (TrialState.RUNNING, TrialState.WAITING)
WEIGHTS_ERROR = "weights_error"  # trial attribute: why its weights could not be stored
QUANTIZATION_ERROR = "quantization_error"  # trial attribute: why it could not be quantized


def counted(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a finished trial counts towards `n_trials`: it has a result (trained, stopped at a
    rung, or reused from a twin). An infeasible draw is recorded but free."""
    if trial.state == TrialState.COMPLETE:
        return True
    return trial.state == TrialState.PRUNED and trial.user_attrs.get("status") != str(
        Status.INFEASIBLE
    )


class TrialFailed(Exception):
    """Training a trial failed (non-finite loss, out of memory): recorded; the search goes on."""


class SurplusTrial(Exception):
    """Other workers already have the requested number of trials under way."""


class Interrupts:
    """Ctrl-C and SIGTERM, remembered. While `armed` (the objective runs a trial that is its own)
    they raise KeyboardInterrupt at once; otherwise (Optuna is creating or finishing a trial) the
    search stops at the next safe point: the objective's start, or the loop's next turn."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: list[int] = []
        self._armed = False

    def __bool__(self) -> bool:
        return bool(self.received)

    def handler(self, signum, frame) -> None:
        self.received.append(signum)
        if self._armed:
            raise KeyboardInterrupt(f"signal {signum}")

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        if self.received:
            raise KeyboardInterrupt("interrupted while the trial was being created")
        self._armed = True
        try:
            yield
        finally:
            self._armed = False

    @contextlib.contextmanager
    def installed(self) -> Iterator[Interrupts]:
        """Handle the signals in this process while the block runs (only the main thread can)."""
        try:
            previous = {s: signal.signal(s, self.handler) for s in self.SIGNALS}
        except ValueError:  # not the main thread: signals stay as they are
            yield self
            return
        try:
            yield self
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def constraint_violations(
    metrics: Mapping[str, float], constraints: Mapping[str, float]
) -> dict[str, float]:
    """Constraint values in Optuna's convention (feasible when <= 0): metric - budget."""
    return {f"{name}_budget": float(metrics[name] - budget) for name, budget in constraints.items()}


def over_budget(metrics: Mapping[str, float], constraints: Mapping[str, float]) -> str | None:
    """Why a network is infeasible (every budget it exceeds), or None when it is within them."""
    over = [
        f"{name} {metrics[name]:,} > budget {_number(budget)}"
        for name, budget in constraints.items()
        if metrics[name] > budget
    ]
    return "; ".join(over) + " (not trained)" if over else None


def _number(budget: float) -> str:
    """A budget in full: 1,048,576 rather than 1.04858e+06."""
    return f"{int(budget):,}" if budget == int(budget) else f"{budget:,}"


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
    trainer: Callable | None = None  # (arch, data, config) -> TrainResult; default train_proxy
    interrupts: Interrupts | None = None  # set by `run_search` while it runs
    current: int | None = None  # the number of the trial under way or last run
    save_weights: str = "none"  # none, front or all: which trained networks' weights are stored
    artifacts: Any = None  # the Optuna artifact store for them (sqzdse.artifacts)
    pending: TrialRecord | None = None  # the trial under way's result, once it has one
    failures: list[str] = field(default_factory=list)  # reasons of the last consecutive failures
    infeasible: list[str] = field(default_factory=list)  # reasons of the last infeasible draws

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        self.current = trial.number
        self.pending = None
        written: dict = {}
        try:
            with self._interruptible():
                self._refuse_surplus(trial)
                cfg = self.setup.space.suggest(trial, num_classes=self.setup.num_classes)
                record = TrialRecord(arch=cfg, metrics=analytic_metrics(cfg))
                written = record.write(trial)  # a trial that dies training still shows its network
                for key, value in constraint_violations(
                    record.metrics, self.setup.space.constraints
                ).items():
                    trial.set_constraint(key, value)
                record = self.pending = self._outcome(trial, record)
                record.write(trial, written=written)
        except optuna.exceptions.UpdateFinishedTrialError:
            raise DeclaredDead(trial.number, self.pending) from None
        except KeyboardInterrupt:
            TrialRecord(
                status=Status.FAILED, failure_reason="interrupted before training finished"
            ).write(trial, written=written)
            raise
        self._count(record)
        if record.status in (Status.INFEASIBLE, Status.STOPPED):
            raise optuna.TrialPruned(record.failure_reason)
        if record.status is Status.FAILED:
            raise TrialFailed(record.failure_reason)
        return tuple(float(record.metrics[name]) for name in self.setup.objectives)

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        """Ctrl-C interrupts this trial from here on (before, Optuna may not have made the trial
        ours yet), and one that came while Optuna prepared the trial interrupts it now."""
        if self.interrupts is None:
            yield
            return
        with self.interrupts.armed():
            yield

    def _count(self, record: TrialRecord) -> None:
        """Keep the reasons of this process's consecutive failed trials, and of its consecutive
        infeasible draws (see `run_search`)."""
        if record.status is Status.FAILED:
            self.failures.append(record.failure_reason or "no reason recorded")
        else:
            self.failures.clear()
        if record.status is Status.INFEASIBLE:
            self.infeasible.append(record.failure_reason or "no reason recorded")
        else:
            self.infeasible.clear()

    def _outcome(self, trial: optuna.Trial, record: TrialRecord) -> TrialRecord:
        """The record of the trial once decided: infeasible, reused, trained, stopped or failed."""
        arch = record.arch
        assert arch is not None  # `__call__` made the record from its network
        reason = over_budget(record.metrics, self.setup.space.constraints)
        if reason is not None:
            return record.replace(status=Status.INFEASIBLE, failure_reason=reason)
        earlier = _trained_twin(trial, arch)
        if earlier is not None:
            return record.reusing(earlier)
        record = _with_latency(record)
        trial.set_user_attr(LATENCY_MS, record.metrics[LATENCY_MS])  # visible while it trains
        halving = self._halving(trial, record)
        try:
            result = self._train(
                arch,
                on_epoch=halving,
                keep_weights=self.save_weights != "none"
                or self.setup.space.compression is not None
                or self.setup.space.quantization is not None,
            )
        except Stopped as stop:
            assert halving is not None  # only a rung stops a trial
            return record.replace(
                status=Status.STOPPED,
                failure_reason=stop.reason,
                curve=tuple(halving.curve),
                rungs=tuple(halving.rungs),
                device=self._device_name(),
                versions=software_versions(),
                metrics={**record.metrics, TRAIN_SECONDS: halving.curve[-1].seconds},
            )
        except (optuna.exceptions.UpdateFinishedTrialError, StorageError):
            raise  # declared dead by another process (`__call__`), or the database is away
        except SqzdseError as err:  # a data file that broke since the search started, ...
            return record.replace(status=Status.FAILED, failure_reason=str(err))
        # Anything else is a bug: recorded with its reason, counted, and the search goes on.
        except Exception as err:
            return record.replace(
                status=Status.FAILED, failure_reason=f"{type(err).__name__}: {err}"
            )
        trained = record.replace(
            device=result.device,
            versions=software_versions(),
            curve=tuple(result.curve),
            rungs=() if halving is None else tuple(halving.rungs),
        )
        if result.status is not Status.OK:
            return trained.replace(status=Status.FAILED, failure_reason=result.reason)
        measured = {name: getattr(result, name) for name in metrics_of(source=Source.TRAINED)}
        trained = trained.replace(
            status=Status.OK,
            metrics={**record.metrics, **{k: v for k, v in measured.items() if v is not None}},
        )
        if self.setup.space.compression is not None:
            try:
                trained = self._compress(trained, result.weights)
            except Exception as err:  # recorded like a failed training, with what was measured
                return trained.replace(
                    status=Status.FAILED,
                    failure_reason=f"compression failed: {type(err).__name__}: {err}",
                )
        if self.setup.space.quantization is not None:
            try:
                trained = self._quantize(trained, result.weights)
            except Exception as err:  # the fp32 result is kept, and why there is no int8 one
                reason = f"int8 quantization failed: {type(err).__name__}: {err}"
                if self._needs_int8():  # no objective values without it
                    return trained.replace(status=Status.FAILED, failure_reason=reason)
                trial.set_user_attr(QUANTIZATION_ERROR, reason)
        self.pending = trained  # declared dead from here on, the result is still recorded
        if self._keeps(trial, trained):
            try:
                info = save_weights(
                    trial,
                    result.weights,
                    self.artifacts,
                    source="proxy",
                    label=f"trial-{trial.number}",
                )
            except optuna.exceptions.UpdateFinishedTrialError:
                raise
            except Exception as err:  # a full disk, a lost bucket: the result itself is kept
                trial.set_user_attr(
                    WEIGHTS_ERROR, f"weights not stored: {type(err).__name__}: {err}"
                )
            else:
                trained = trained.replace(weights=info)
        return trained

    def _keeps(self, trial: optuna.Trial, record: TrialRecord) -> bool:
        """Whether to store this trained network's weights: always with `all`; with `front`, when
        no completed trial of the study dominates it now (it may leave the front later)."""
        if self.save_weights == "all":
            return True
        if self.save_weights != "front":
            return False
        mine = [record.metrics[name] for name in self.setup.objectives]
        others = [
            t.values
            for t in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.values
        ]
        points = as_minimization(np.array([*others, mine], dtype=float), self.setup.directions)
        return not dominated(points)[-1]

    def _halving(self, trial: optuna.Trial, record: TrialRecord) -> Halving | None:
        """The per-epoch successive-halving hook, or None at full fidelity."""
        space = self.setup.space
        if not space.rungs or space.fidelity is None:
            return None
        return Halving(
            trial=trial,
            objectives=tuple(self.setup.objectives),
            directions=tuple(self.setup.directions),
            metrics=record.metrics,
            rung_epochs=space.rungs,
            eta=space.fidelity.eta,
            epochs=space.training.epochs,
        )

    def _device_name(self) -> str:
        from sqzdse.train import resolve_device

        return str(resolve_device(self.device))

    def _train(self, cfg: ArchConfig, *, on_epoch: Callable | None, keep_weights: bool):
        from sqzdse.train import train_proxy

        data, config = self._data_and_config(cfg.resolution)
        return (self.trainer or train_proxy)(
            cfg, data, config, on_epoch=on_epoch, keep_weights=keep_weights
        )

    def _data_and_config(self, resolution: int):
        """The space's data set at `resolution` (the trial's) on this search's device (cached per
        process and resolution) and its trainer settings."""
        from sqzdse.data import load_dataset
        from sqzdse.train import resolve_device

        training = self.setup.space.training
        spec = training.data_spec(resolution=resolution)
        data = load_dataset(spec, device=resolve_device(self.device))
        return data, training.train_config(device=self.device)

    def _compress(self, record: TrialRecord, weights) -> TrialRecord:
        """The record with the Deep Compression of its trained network (the space's settings)."""
        from sqzdse.compression.pipeline import compress

        settings = self.setup.space.compression
        assert record.arch is not None and settings is not None  # a trained network, compressed
        data, config = self._data_and_config(record.arch.resolution)
        report = compress(weights, data, settings, config).report
        compressed = {
            COMPRESSED_BYTES: report.file_bytes,
            TOP1_COMPRESSED: report.top1_after,
            TOP5_COMPRESSED: report.top5_after,
        }
        return record.replace(
            metrics={**record.metrics, **compressed}, compression=report.to_dict()
        )

    def _quantize(self, record: TrialRecord, weights) -> TrialRecord:
        """The record with its trained network quantized to int8 and scored by ONNX Runtime on the
        validation images (the space's `quantization` settings; as `export-model --int8`)."""
        import tempfile
        import time
        from pathlib import Path

        from sqzdse.data import load_dataset
        from sqzdse.export_model import measure_int8

        settings = self.setup.space.quantization
        assert record.arch is not None and settings is not None  # a trained network, quantized
        start = time.perf_counter()
        # ONNX Runtime reads the CPU's copy, at the trial's resolution
        data = load_dataset(self.setup.space.training.data_spec(resolution=record.arch.resolution))
        with tempfile.TemporaryDirectory(prefix="sqzdse-search-int8-") as folder:
            check, block = measure_int8(
                weights,
                data,
                Path(folder) / "int8.onnx",
                calibration_images=settings.calibration_images,
            )
        block = dataclasses.replace(
            block,
            settings=settings.to_dict(),
            fp32_check={"max_abs_diff": check.max_abs_diff, "agree": check.agree},
            seconds=time.perf_counter() - start,
        )
        int8 = {
            TOP1_INT8: block.top1,
            TOP5_INT8: block.top5,
            INT8_BYTES: block.bytes,
            LATENCY_INT8_MS: block.latency_ms,
        }
        return record.replace(metrics={**record.metrics, **int8}, quantization=block.to_dict())

    def _needs_int8(self) -> bool:
        """Whether an objective is an int8 metric (a trial cannot complete without it)."""
        return any(metric(name).source is Source.QUANTIZED for name in self.setup.objectives)

    def _refuse_surplus(self, trial: optuna.Trial) -> None:
        """Several workers may ask for a trial at the same moment; the later ones step back."""
        study = trial.study
        earlier = [
            t
            for t in study.get_trials(deepcopy=False, states=FINISHED + UNDER_WAY)
            if t.number < trial.number and (t.state in UNDER_WAY or counted(t))
        ]
        if len(earlier) >= self.n_trials:
            TrialRecord(
                status=Status.FAILED,
                failure_reason="not needed: the requested number of trials was already "
                "under way in other workers",
            ).write(trial)
            raise SurplusTrial()


def _with_latency(record: TrialRecord) -> TrialRecord:
    """The record with its network's measured CPU latency (`sqzdse.latency`), before training."""
    from sqzdse.latency import measure_latency

    assert record.arch is not None  # measured before training, from the network
    latency = measure_latency(record.arch)
    return record.replace(
        metrics={**record.metrics, LATENCY_MS: latency.median_ms}, latency=latency.to_dict()
    )


def _trained_twin(trial: optuna.Trial, cfg: ArchConfig) -> TrialRecord | None:
    """The record of an earlier trial of this study that trained exactly this network: one that
    completed (preferred), or else one stopped at a rung."""
    stopped = None
    for t in trial.study.get_trials(deepcopy=False, states=FINISHED):
        record = TrialRecord.from_trial(t)
        if record.arch != cfg or record.reused_from is not None:
            continue
        if record.status is Status.OK:
            return record
        if record.status is Status.STOPPED and stopped is None:
            stopped = record
    return stopped
