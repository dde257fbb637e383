"""The fidelity report: how well the proxy ranks the plan's networks, from the stored runs.

Pure functions of the plan and the stored runs. A network counts when every one of its runs (every
proxy seed, every reference seed) trained; the others are listed as left out. Accuracies of
several seeds are averaged per network. Every statistic compares a signal with the reference's
top-1 over the networks that count, so that "higher ranks higher" for each: losses enter negated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sqzdse.records import MACS, PARAMS, analytic_metrics

from ._plan import Plan, RunRole
from ._stats import (
    bootstrap_interval,
    front_recall,
    kendall_tau,
    seed_to_seed_tau,
    size_residuals,
    spearman,
)
from ._store import StoredRun

GOOD_MARGIN = 0.10  # "better than params" means a tau this much higher ([fidelity]'s goal)


@dataclass(frozen=True)
class Network:
    """One measured network: its exact costs and what its runs measured, per seed."""

    index: int
    params: int
    macs: int
    proxy: tuple[StoredRun, ...]  # one per proxy seed
    reference: tuple[StoredRun, ...]  # one per reference seed

    @property
    def proxy_top1(self) -> float:
        return float(np.mean([r.top1 for r in self.proxy]))

    @property
    def reference_top1(self) -> float:
        return float(np.mean([r.top1 for r in self.reference]))

    def proxy_epoch_top1(self, epoch: int) -> float:
        return float(np.mean([r.curve[epoch - 1].top1 for r in self.proxy]))

    def to_dict(self, plan: Plan) -> dict:
        arch = plan.networks[self.index]
        return {
            "network": self.index,
            PARAMS: self.params,
            MACS: self.macs,
            "proxy_top1": self.proxy_top1,
            "proxy_top1_by_seed": [r.top1 for r in self.proxy],
            "reference_top1": self.reference_top1,
            "reference_top1_by_seed": [r.top1 for r in self.reference],
            "proxy_seconds": float(np.mean([r.seconds for r in self.proxy])),
            "reference_seconds": float(np.mean([r.seconds for r in self.reference])),
            "arch": arch.to_dict(),
        }


@dataclass(frozen=True)
class Agreement:
    """How one signal ranks the networks against the reference's top-1."""

    kendall_tau: float
    interval: tuple[float, float]  # bootstrap 90% interval of the tau, over networks
    spearman: float

    def to_dict(self) -> dict:
        return {
            "kendall_tau": _number(self.kendall_tau),
            "interval": [_number(v) for v in self.interval],
            "spearman": _number(self.spearman),
        }


def _agreement(signal, reference) -> Agreement:
    return Agreement(
        kendall_tau(signal, reference),
        bootstrap_interval(signal, reference),
        spearman(signal, reference),
    )


@dataclass(frozen=True)
class FidelityReport:
    plan: Plan
    networks: tuple[Network, ...]  # those whose every run trained
    left_out: tuple[tuple[int, str], ...]  # (network, why) for the others
    signals: dict[str, Agreement]  # proxy, params, macs, and the proxy's other signals
    within_size: Agreement  # tau on residuals of top-1 regressed on log10(params)
    seed_to_seed: float  # the proxy's mean tau between its seeds
    reference_seed_to_seed: float  # NaN with one reference seed
    by_epoch: tuple[float, ...]  # tau of the proxy's top-1 after each of its epochs
    front_recall: float
    proxy_seconds: float  # mean seconds of one proxy run (one seed)
    reference_seconds: float  # mean seconds of one reference run

    @property
    def complete(self) -> bool:
        return len(self.networks) == len(self.plan.networks)

    @property
    def cost_ratio(self) -> float:
        """A proxy run's seconds as a fraction of a reference run's."""
        return self.proxy_seconds / self.reference_seconds if self.reference_seconds else math.nan

    def verdict(self) -> str:
        """One plain sentence: does the proxy add information beyond the parameter count?"""
        proxy, params = self.signals["proxy"].kendall_tau, self.signals[PARAMS].kendall_tau
        within = self.within_size
        figures = (
            f"tau {_fmt(proxy)} against params' {_fmt(params)} ({_signed(proxy - params)}), "
            f"within-size tau {_fmt(within.kendall_tau)} [90%: {_fmt(within.interval[0])}, "
            f"{_fmt(within.interval[1])}], over {len(self.networks)} networks"
        )
        if len(self.networks) < 3:
            return f"verdict: too few measured networks to tell ({figures})"
        if not math.isfinite(proxy):
            return (
                "verdict: the proxy gives every network the same accuracy, so it ranks nothing; "
                f"train it longer or on more images ({figures})"
            )
        ranks_within = math.isfinite(within.interval[0]) and within.interval[0] > 0
        if ranks_within and proxy >= params + GOOD_MARGIN:
            return f"verdict: the proxy adds information beyond the parameter count: {figures}"
        if ranks_within:
            return (
                "verdict: the proxy ranks networks of similar size, but overall no better than "
                f"the parameter count by {GOOD_MARGIN:.2f}: {figures}"
            )
        return (
            "verdict: the proxy adds no information the parameter count does not already give "
            f"(its within-size tau could be 0): {figures}"
        )

    def to_dict(self) -> dict:
        signals = {name: a.to_dict() for name, a in self.signals.items()}
        return {
            "space": self.plan.space_name,
            "complete": self.complete,
            "networks": [n.to_dict(self.plan) for n in self.networks],
            "left_out": [{"network": i, "reason": why} for i, why in self.left_out],
            "kendall_tau": {
                "proxy": _number(self.signals["proxy"].kendall_tau),
                PARAMS: _number(self.signals[PARAMS].kendall_tau),
                MACS: _number(self.signals[MACS].kendall_tau),
                "seed_to_seed": _number(self.seed_to_seed),
                "reference_seed_to_seed": _number(self.reference_seed_to_seed),
                "within_size": _number(self.within_size.kendall_tau),
                "by_proxy_epoch": [_number(t) for t in self.by_epoch],
            },
            "signals": signals,
            "within_size": self.within_size.to_dict()
            | {"method": "residuals of top-1 regressed on log10(params), least squares"},
            "front_recall": _number(self.front_recall),
            "proxy_seconds": _number(self.proxy_seconds),
            "reference_seconds": _number(self.reference_seconds),
            "cost_ratio": _number(self.cost_ratio),
            "proxy": _setting(self.plan, RunRole.PROXY),
            "reference": _setting(self.plan, RunRole.REFERENCE),
            "verdict": self.verdict(),
        }


# The proxy's signals besides its final top-1 (Ru et al. 2021 for the sum of training losses).
SIGNALS = {
    "proxy": "proxy top-1 (mean over seeds)",
    PARAMS: "parameter count",
    MACS: "multiply-accumulates",
    "best_epoch_top1": "proxy's best-epoch top-1",
    "val_loss": "proxy's final validation loss (lower ranks higher)",
    "train_loss_sum": "proxy's sum of training losses (lower ranks higher)",
}


def build_report(plan: Plan, stored: dict[str, StoredRun]) -> FidelityReport:
    by_network: dict[int, dict[RunRole, list[StoredRun | None]]] = {
        i: {role: [] for role in RunRole} for i in range(len(plan.networks))
    }
    for run in plan.runs():
        by_network[run.network][run.role].append(stored.get(run.key))
    networks, left_out = [], []
    for index, runs in by_network.items():
        found = {role: [r for r in runs[role] if r is not None] for role in RunRole}
        missing = sum(len(runs[role]) - len(found[role]) for role in RunRole)
        failed = [r for role in RunRole for r in found[role] if not r.ok]
        if failed:
            left_out.append((index, f"a run failed: {failed[0].reason}"))
        elif missing:
            left_out.append((index, f"{missing} run(s) not trained yet"))
        else:
            metrics = analytic_metrics(plan.networks[index])
            networks.append(
                Network(
                    index,
                    metrics[PARAMS],
                    metrics[MACS],
                    tuple(found[RunRole.PROXY]),
                    tuple(found[RunRole.REFERENCE]),
                )
            )
    return _statistics(plan, tuple(networks), tuple(left_out))


def _statistics(plan: Plan, networks: tuple[Network, ...], left_out) -> FidelityReport:
    reference = [n.reference_top1 for n in networks]
    params = [float(n.params) for n in networks]
    proxy = [n.proxy_top1 for n in networks]
    signal_values = {
        "proxy": proxy,
        PARAMS: params,
        MACS: [float(n.macs) for n in networks],
        "best_epoch_top1": [
            float(np.mean([max(e.top1 for e in r.curve) for r in n.proxy])) for n in networks
        ],
        "val_loss": _negated_mean(networks, lambda r: r.val_loss),
        "train_loss_sum": _negated_mean(networks, lambda r: r.train_loss_sum),
    }
    signals = {
        name: _agreement(values, reference) if values is not None else _undefined()
        for name, values in signal_values.items()
    }
    if len(networks) >= 3:
        within = _agreement(size_residuals(proxy, params), size_residuals(reference, params))
    else:
        within = _undefined()
    proxy_runs = [r for n in networks for r in n.proxy]
    reference_runs = [r for n in networks for r in n.reference]
    return FidelityReport(
        plan=plan,
        networks=networks,
        left_out=left_out,
        signals=signals,
        within_size=within,
        seed_to_seed=_seed_to_seed(networks, RunRole.PROXY, plan.proxy_seeds),
        reference_seed_to_seed=_seed_to_seed(networks, RunRole.REFERENCE, plan.reference_seeds),
        by_epoch=tuple(
            kendall_tau([n.proxy_epoch_top1(e) for n in networks], reference)
            for e in range(1, plan.proxy.epochs + 1)
        ),
        front_recall=front_recall(params, proxy, reference) if networks else math.nan,
        proxy_seconds=_mean_seconds(proxy_runs),
        reference_seconds=_mean_seconds(reference_runs),
    )


def _negated_mean(networks, value) -> list[float] | None:
    values = [[value(r) for r in n.proxy] for n in networks]
    if any(v is None for row in values for v in row):
        return None  # runs stored before the value was measured
    return [-float(np.mean(row)) for row in values]


def _seed_to_seed(networks, role: RunRole, seeds: int) -> float:
    rows = [
        [(n.proxy if role is RunRole.PROXY else n.reference)[k].top1 for n in networks]
        for k in range(seeds)
    ]
    return seed_to_seed_tau(rows) if networks else math.nan


def _mean_seconds(runs) -> float:
    return float(np.mean([r.seconds for r in runs])) if runs else math.nan


def _undefined() -> Agreement:
    return Agreement(math.nan, (math.nan, math.nan), math.nan)


def _setting(plan: Plan, role: RunRole) -> dict:
    setting = plan.setting(role)
    return {
        "dataset": setting.dataset,
        "resolution": setting.resolution,
        "train_per_class": setting.train_per_class,
        "val_per_class": setting.val_per_class,
        "epochs": setting.epochs,
        "batch_size": setting.batch_size,
        "seeds": plan.seeds(role),
    }


def _number(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _fmt(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "n/a"


def _signed(value: float) -> str:
    return f"{value:+.2f}" if math.isfinite(value) else "n/a"


def format_report(report: FidelityReport) -> str:
    """The report as text for a terminal."""
    plan = report.plan
    lines = []
    for role in RunRole:
        s = _setting(plan, role)
        per_class = s["train_per_class"] or "all"
        seconds = report.proxy_seconds if role is RunRole.PROXY else report.reference_seconds
        lines.append(
            f"{role:<9}: {s['dataset']} {s['resolution']} px, {per_class} training images/class, "
            f"{s['val_per_class'] or 'all'} validation/class, {_epochs(s['epochs'])}, seeds "
            f"{','.join(map(str, s['seeds']))}: {_fmt_seconds(seconds)} per run"
        )
    lines.append(
        f"a proxy run costs {_fmt(100 * report.cost_ratio)}% of a reference run; "
        f"{len(report.networks)} of {len(plan.networks)} networks measured"
    )
    for index, why in report.left_out:
        lines.append(f"  network {index + 1} left out: {why}")
    lines.append("")
    lines.append(f"{'ranking by':<52} {'tau-b':>6}  {'90% interval':>14}  {'Spearman':>8}")
    rows = [(label, report.signals[name]) for name, label in SIGNALS.items()]
    rows.append(("proxy within size (residuals on log10 params)", report.within_size))
    for label, a in rows:
        interval = f"[{_fmt(a.interval[0])}, {_fmt(a.interval[1])}]"
        lines.append(f"{label:<52} {_fmt(a.kendall_tau):>6}  {interval:>14}  {_fmt(a.spearman):>8}")
    lines.append(f"{'proxy seed-to-seed (its noise ceiling)':<52} {_fmt(report.seed_to_seed):>6}")
    if plan.reference_seeds > 1:
        lines.append(f"{'reference seed-to-seed':<52} {_fmt(report.reference_seed_to_seed):>6}")
    epochs = "  ".join(f"{e}: {_fmt(t)}" for e, t in enumerate(report.by_epoch, start=1))
    lines.append(f"tau after each proxy epoch: {epochs}")
    lines.append(
        f"Pareto-front recall (reference's params/top-1 front held by the proxy's): "
        f"{_fmt(report.front_recall)}"
    )
    lines.append(report.verdict())
    return "\n".join(lines)


def _epochs(count: int) -> str:
    return f"{count} epoch" + ("" if count == 1 else "s")


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if math.isfinite(seconds) else "not measured"
