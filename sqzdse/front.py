"""The front trained: `sqzdse retrain --front`.

Every network on a search study's Pareto front (or chosen trials), and SqueezeNet v1.0 / v1.1 at
the study's data set, classes and resolution as baselines, retrained with one schedule on the same
seeds; validation accuracy (what the search selects on) and test accuracy (read only once a network
is trained) for each.

Each network x seed is one run, kept as one trial of a companion study of runs, `<study>.retrain`
in the same storage (claimed, beating its heartbeat and recorded by `sqzdse.fidelity._store`, as
`sqzdse fidelity` keeps its runs): a killed process loses only the run under way, and any number of
processes or machines sharing the storage train the front together. Once every run of a network is
stored, its block is written on the search study (`retrained:<trial>`, or
`retrained_baseline:<preset>` for a baseline), where the export, the dashboard and
`sqzdse export-model` read it. Every figure is recomputed from the stored runs.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import optuna

from sqzdse.arch import PRESET_NAMES, ArchConfig, preset
from sqzdse.errors import ArchError, SqzdseError
from sqzdse.records import (
    DEFAULT_COST,
    MACS,
    PARAMS,
    RETRAINED_PREFIX,
    TOP1,
    TOP5,
    TRAIN_SECONDS,
    Retraining,
    SeedRun,
    Status,
    TrialRecord,
    analytic_metrics,
    format_clock,
    format_value,
)
from sqzdse.retrain import retrain_block
from sqzdse.space import Training
from sqzdse.storage import RUNS_SUFFIX  # the companion study of runs: <study>.retrain

RUNS_KIND = "retrain"
BASELINE_PREFIX = "retrained_baseline:"  # study attribute of a baseline: retrained_baseline:v1.0
BASELINES = PRESET_NAMES
SEED_RUN = "seed_run"  # the runs-study trial attribute holding what a run measured
WAIT_SECONDS = 5.0  # how often to look again while other processes train the last runs


@dataclass(frozen=True)
class Network:
    """One network to retrain: a trial of the study (its number as `name`) or a baseline preset."""

    name: str
    arch: ArchConfig
    trial: int | None = None  # None for a baseline
    proxy_top1: float | None = None  # the search's (validation) top-1; None for a baseline

    @property
    def params(self) -> int:
        return analytic_metrics(self.arch)[PARAMS]

    @property
    def macs(self) -> int:
        return analytic_metrics(self.arch)[MACS]


@dataclass(frozen=True)
class FrontRun:
    """One network trained with one seed (the shape `fidelity._store.claim` records)."""

    net: Network
    training: Training  # with this run's seed

    role = RUNS_KIND

    @property
    def network(self) -> str:
        return self.net.name

    @property
    def arch(self) -> ArchConfig:
        return self.net.arch

    @property
    def seed(self) -> int:
        return self.training.seed

    @property
    def key(self) -> str:
        from sqzdse.fidelity._plan import run_key

        return run_key(self.arch, self.training)


def runs_study_name(study_name: str) -> str:
    return f"{study_name}{RUNS_SUFFIX}"


def is_runs_study(name: str) -> bool:
    return name.endswith(RUNS_SUFFIX)


def front_networks(study: optuna.Study, objectives: Sequence[str]) -> list[Network]:
    """The distinct networks on the study's Pareto front of its own objectives, smallest first
    (a trial that reused another's result is that trial's network)."""
    records = [TrialRecord.from_trial(t, objectives) for t in study.best_trials]
    numbers = {r.number for r in records}
    shown = [
        r
        for r in records
        if r.arch is not None and not (r.status is Status.REUSED and r.reused_from in numbers)
    ]
    seen: set[ArchConfig] = set()
    networks = []
    for r in sorted(shown, key=lambda r: (r.metrics.get(DEFAULT_COST, 0), r.number)):
        if r.arch is None or r.arch in seen:
            continue
        seen.add(r.arch)
        networks.append(Network(str(r.number), r.arch, r.number, r.metrics.get(TOP1)))
    return networks


def chosen_networks(study: optuna.Study, numbers: Sequence[int], objectives) -> list[Network]:
    """The networks of trials `numbers`; SqzdseError naming a trial without one."""
    trials = study.get_trials(deepcopy=False)
    networks = []
    for number in numbers:
        if not 0 <= number < len(trials):
            raise SqzdseError(
                f"--trials: study {study.study_name!r} has trials 0 to {len(trials) - 1}, "
                f"not {number}"
            )
        record = TrialRecord.from_trial(trials[number], objectives)
        if record.arch is None:
            raise SqzdseError(f"--trials: trial {number} records no valid architecture")
        networks.append(Network(str(number), record.arch, number, record.metrics.get(TOP1)))
    return networks


def baseline_networks(names: Sequence[str], *, num_classes: int, resolution: int) -> list[Network]:
    """SqueezeNet presets at the study's classes and resolution, exactly as published otherwise."""
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise SqzdseError(
            f"--baselines: unknown {', '.join(map(repr, unknown))}; valid: {', '.join(BASELINES)}"
        )
    networks = []
    for name in names:
        try:
            cfg = preset(name, num_classes=num_classes, resolution=resolution)
            analytic_metrics(cfg)
        except ArchError as err:
            raise SqzdseError(f"--baselines {name} at the study's {resolution} px: {err}") from None
        networks.append(Network(name, cfg))
    return networks


def plan_runs(networks: Sequence[Network], training: Training, seeds: Sequence[int]):
    """Every run, seed by seed (a first figure for every network before any second seed), the
    cheapest network (fewest MACs) first within a seed, so the first figures come soonest. Each
    network trains at its own resolution (a study may have searched it)."""
    return [
        FrontRun(net, dataclasses.replace(training, seed=seed, resolution=net.arch.resolution))
        for seed in seeds
        for net in sorted(networks, key=lambda n: (n.macs, n.params))
    ]


# ---------------------------------------------------------------------------- training the runs


@dataclass
class _Eta:
    """Seconds left: a network's runs take what its finished runs took; a network with none yet is
    guessed at the mean of every finished run (marked `~`). MACs predict a small network's time
    badly (per-image work that is not convolution dominates it), so they are not used."""

    start: float = field(default_factory=time.perf_counter)

    @staticmethod
    def left(todo: Sequence[FrontRun], done: dict[str, SeedRun], runs: Sequence[FrontRun]) -> str:
        seconds: dict[str, list[float]] = {}
        for r in runs:
            if r.key in done and (took := done[r.key].train_seconds) is not None:
                seconds.setdefault(r.net.name, []).append(took)
        if not seconds:
            return "eta ?"
        typical = statistics.fmean(s for values in seconds.values() for s in values)
        guessed = any(r.net.name not in seconds for r in todo)
        left = sum(
            statistics.fmean(seconds[r.net.name]) if r.net.name in seconds else typical
            for r in todo
        )
        return f"eta {'~' if guessed else ''}{format_clock(left)}"


def stored_runs(runs_study: optuna.Study) -> dict[str, SeedRun]:
    """Key -> the SeedRun of every run that finished training."""
    from sqzdse.fidelity import _store

    found = {}
    for key, trial in _store.finished_trials(runs_study, result=SEED_RUN).items():
        if isinstance(trial.user_attrs[SEED_RUN], dict):
            found[key] = SeedRun.from_dict(trial.user_attrs[SEED_RUN])
    return found


def train_runs(
    runs: Sequence[FrontRun],
    runs_study: optuna.Study,
    *,
    train: Callable[[FrontRun, Callable], tuple[SeedRun, Any]],
    save_weights: Callable[[optuna.Trial, Any, FrontRun], dict | None],
    echo: Callable[[str], None],
    host: str,
    heartbeat_interval: float,
    interrupts,
) -> dict[str, SeedRun]:
    """Train the runs neither stored nor held by another process, then wait for the others';
    returns every stored run. `train(run, on_epoch)` gives (SeedRun, weights); Ctrl-C gives the run
    under way back and raises KeyboardInterrupt."""
    from sqzdse.fidelity import _store

    eta = _Eta()
    width = len(str(len(runs)))
    while True:
        optuna.storages.fail_stale_trials(runs_study)
        done = stored_runs(runs_study)
        running = _store.running_keys(runs_study)
        todo = [r for r in runs if r.key not in done and r.key not in running]
        if not todo:
            if not any(r.key in running for r in runs):
                return done
            with interrupts.armed():  # holding nothing: Ctrl-C stops the wait at once
                time.sleep(WAIT_SECONDS)
            continue
        run = todo[0]
        trial = _store.claim(runs_study, run, host=host)
        if trial is None:
            continue
        label = f"network {run.net.name} ({run.net.params:,} params) seed {run.seed}"
        left = eta.left(todo, done, runs)

        def on_epoch(epoch, label=label, left=left, run=run):
            echo(
                f"  {label}  epoch {epoch.epoch:>3}/{run.training.epochs}  "
                f"loss {epoch.train_loss:.4f}  validation top-1 {epoch.top1:.2%}  "
                f"{epoch.seconds:.0f} s | {left}"
            )

        try:
            with _store.Heartbeat(runs_study._storage, trial, heartbeat_interval):
                with interrupts.armed():
                    seed_run, weights = train(run, on_epoch)
                finish = functools.partial(
                    _store_run, runs_study, run, seed_run, weights, save_weights
                )
                _finish_once(runs_study, trial, run, finish, echo=echo, label=label)
        except KeyboardInterrupt:
            _store.release(runs_study, trial, "interrupted")
            raise
        except SqzdseError:
            _store.release(runs_study, trial, "could not train")
            raise
        done[run.key] = seed_run
        finished = sum(r.key in done for r in runs)
        echo(
            f"[{finished:>{width}}/{len(runs)}] {label}: validation top-1 "
            f"{seed_run.top1:.2%}, test top-1 {seed_run.test_top1:.2%}, "
            f"{seed_run.train_seconds:.0f} s | elapsed "
            f"{format_clock(time.perf_counter() - eta.start)}  "
            f"{eta.left(todo[1:], done, runs)}"
        )


def _store_run(runs_study, run: FrontRun, seed_run: SeedRun, weights, save_weights, trial) -> None:
    from sqzdse.artifacts import WEIGHTS_ATTR

    trial.set_user_attr(SEED_RUN, seed_run.to_dict())
    trial.set_user_attr(WEIGHTS_ATTR, save_weights(trial, weights, run))
    runs_study.tell(trial, seed_run.top1)


def _finish_once(runs_study, trial, run: FrontRun, finish, *, echo, label: str) -> None:
    """Store a trained run on its trial, or, when another process took this one for dead and
    failed the trial meanwhile, on a new trial of the run unless one already holds it."""
    from sqzdse.fidelity import _store

    try:
        finish(trial)
    except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
        if not _store.taken_over(runs_study, trial):
            raise
        if run.key in stored_runs(runs_study):
            echo(f"  {label}: declared dead while alive; already stored by another process")
        else:
            holder = _store.record_again(runs_study, trial, run, finish)
            echo(f"  {label}: declared dead while alive; stored as trial {holder.number}")


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Retrained:
    """One network's retraining over its seeds."""

    net: Network
    runs: tuple[SeedRun, ...]

    @property
    def val_top1(self) -> float:
        return statistics.fmean(_measured(r.top1 for r in self.runs))

    @property
    def test_top1(self) -> float:
        return statistics.fmean(_measured(r.test_top1 for r in self.runs))

    @property
    def test_top5(self) -> float:
        return statistics.fmean(_measured(r.test_top5 for r in self.runs))

    @property
    def test_spread(self) -> float:
        """Half the range of test top-1 over the seeds (0 with one seed)."""
        values = _measured(r.test_top1 for r in self.runs)
        return (max(values) - min(values)) / 2

    @property
    def seconds(self) -> float:
        return sum(_measured(r.train_seconds for r in self.runs))

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.net.name,
            PARAMS: self.net.params,
            MACS: self.net.macs,
        }
        if self.net.trial is not None:
            entry["proxy_top1"] = self.net.proxy_top1
        return entry | {
            "val_top1": self.val_top1,
            "test_top1": self.test_top1,
            "test_top5": self.test_top5,
            "test_top1_by_seed": [r.test_top1 for r in self.runs],
            TRAIN_SECONDS: self.seconds,
        }


T = TypeVar("T")


def _measured(values: Iterable[T | None]) -> list[T]:
    """The values of runs this command trained and stored, which measured each of them;
    SqzdseError for a stored run that lacks one (written by something else)."""
    found = list(values)
    if None in found:
        raise SqzdseError(
            "a stored retraining run lacks a measurement; delete the study of runs "
            f"(<study>{RUNS_SUFFIX}) and retrain"
        )
    return [v for v in found if v is not None]


def results(
    networks: Sequence[Network], runs: Sequence[FrontRun], done: dict[str, SeedRun]
) -> list[Retrained]:
    """Every network whose runs are all stored, in the order given."""
    by_network: dict[str, list[SeedRun]] = {}
    missing = set()
    for run in runs:
        if run.key in done:
            by_network.setdefault(run.net.name, []).append(done[run.key])
        else:
            missing.add(run.net.name)
    return [
        Retrained(net, tuple(by_network[net.name]))
        for net in networks
        if net.name in by_network and net.name not in missing
    ]


def rank_agreement(found: Sequence[Retrained]) -> float | None:
    """Kendall tau between the proxy's top-1 and the retrained test top-1 over the retrained trials
    (baselines have no proxy); None with fewer than two."""
    pairs = [(r.net.proxy_top1, r.test_top1) for r in found if r.net.proxy_top1 is not None]
    if len(pairs) < 2:
        return None
    from scipy import stats

    tau = stats.kendalltau([p for p, _ in pairs], [t for _, t in pairs]).statistic
    return None if tau != tau else float(tau)


def write_blocks(
    study: optuna.Study,
    found: Sequence[Retrained],
    training: Training,
    splits: dict,
    weights: dict[str, dict | None],
) -> None:
    """Record each retrained network on the search study, where readers find it."""
    for r in found:
        (seed,) = _measured([r.runs[0].seed])
        block = retrain_block(
            dataclasses.replace(training, seed=seed, resolution=r.net.arch.resolution),
            r.runs,
            weights=weights.get(r.net.name),
            splits=splits,
        )
        prefix = RETRAINED_PREFIX if r.net.trial is not None else BASELINE_PREFIX
        study.set_user_attr(f"{prefix}{r.net.name}", block.to_dict())


def first_weights(runs_study: optuna.Study, runs: Sequence[FrontRun]) -> dict[str, dict | None]:
    """Network name -> the stored weights of its first seed's run."""
    from sqzdse.artifacts import WEIGHTS_ATTR
    from sqzdse.fidelity import _store

    trials = _store.finished_trials(runs_study, result=SEED_RUN)
    chosen: dict[str, dict | None] = {}
    for run in runs:  # seed by seed: a network's first run comes first
        if run.net.name not in chosen and run.key in trials:
            chosen[run.net.name] = trials[run.key].user_attrs.get(WEIGHTS_ATTR)
    return chosen


def baseline_blocks(study_attrs: Mapping[str, Any]) -> dict[str, Retraining]:
    """{preset: its block} from a study's user attributes."""
    return {
        key.removeprefix(BASELINE_PREFIX): Retraining.from_dict(value)
        for key, value in study_attrs.items()
        if key.startswith(BASELINE_PREFIX) and isinstance(value, dict)
    }


def format_table(found: Sequence[Retrained], splits: dict, tau: float | None) -> str:
    """The retrained networks as a table, smallest first."""
    header = ["network", "params", "MACs", "proxy top-1", "val top-1", "test top-1", "+-", "top-5"]
    rows = [
        [
            r.net.name if r.net.trial is None else f"trial {r.net.name}",
            f"{r.net.params:,}",
            f"{r.net.macs:,}",
            format_value(TOP1, r.net.proxy_top1, missing="-"),
            format_value(TOP1, r.val_top1),
            format_value(TOP1, r.test_top1),
            f"{r.test_spread:.2%}",
            format_value(TOP5, r.test_top5),
        ]
        for r in sorted(found, key=lambda r: r.net.params)
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in [header, *rows]]
    seeds = max((len(r.runs) for r in found), default=0)
    trials = sum(r.net.proxy_top1 is not None for r in found)
    agreement = "Kendall tau, proxy top-1 vs test top-1 over the retrained trials: " + (
        f"{tau:+.3f} ({trials} trials)"
        if tau is not None
        else "needs two or more retrained trials"
        if trials < 2
        else f"undefined ({trials} trials, and one of the two rankings is all ties)"
    )
    return "\n".join(
        [
            f"Retrained ({seeds} seed(s); test top-1 mean, +- half the range over seeds) on "
            f"{splits['train']:,} training, {splits['val']:,} validation and {splits['test']:,} "
            f"test images ({splits['convention']}):",
            *lines,
            agreement,
        ]
    )
