"""Successive halving against full fidelity: hypervolume as a function of training seconds.

    python benchmarks/multifidelity.py digits     # micro.yaml on digits, 3 epochs
    python benchmarks/multifidelity.py fashion    # fashion.yaml: Fashion-MNIST, 450/class, 2 epochs

For each seed, two searches of the same space with the same sampler and sampler seed: one at full
fidelity (`--n-trials N`), one under successive halving (`--min-epochs M --eta E`, `--n-trials 2N`,
so that it can spend about as much as the full run). Each runs as `sqzdse search` in its own
one-thread process, one after the other, in one storage (default
`studies/benchmark-multifidelity-<preset>.db`, a study per arm, rung setting and seed: the full
runs are shared by every rung setting, and an interrupted benchmark resumes). Hypervolume is that
of the completed networks' (top-1, params), every run against the same reference point (top-1 0,
1.1 x the space's largest network), as a function of cumulative training seconds (every trained
trial's seconds: completed, stopped and failed). Printed per seed: the full run's final
hypervolume and seconds, the seconds the halving run needed to reach 95% of it (as a share of the
full run's), and its hypervolume at half the full run's seconds. The goal
([multi-fidelity]): 95% of the full run's final hypervolume in at most half its compute. The
figures are written with date, commit, machine and command to `--output` (default
`results/multifidelity_<preset>.json`): per seed, and a summary (ranges and per-seed shares) that
the multi-fidelity results page renders.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys

import numpy as np
from _provenance import ROOT, write_result

PRESETS = {
    "digits": {"space": "micro", "n_trials": 24},
    "fashion": {"space": "fashion", "n_trials": 20},
}
GOAL_SHARE = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", choices=PRESETS)
    parser.add_argument("--seeds", type=int, default=3, help="sampler seeds 0..S-1 (default 3)")
    parser.add_argument("--n-trials", type=int, help="full-fidelity trials per seed")
    parser.add_argument("--min-epochs", type=int, default=1)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--storage", help="default: sqlite:///studies/benchmark-multifidelity-*.db")
    parser.add_argument("--output", help="default: results/multifidelity_<preset>.json")
    args = parser.parse_args()
    preset = PRESETS[args.preset]
    n_trials = args.n_trials or preset["n_trials"]
    storage = args.storage or f"sqlite:///studies/benchmark-multifidelity-{args.preset}.db"
    halving = ["--min-epochs", str(args.min_epochs), "--eta", str(args.eta)]
    for seed in range(args.seeds):
        _search(preset["space"], storage, f"full-s{seed}", seed, n_trials, [])
        _search(preset["space"], storage, _halving_study(args, seed), seed, 2 * n_trials, halving)
    seeds = _report(preset["space"], storage, args.seeds, args)
    write_result(
        args.output or ROOT / "results" / f"multifidelity_{args.preset}.json",
        {
            "preset": args.preset,
            "space": preset["space"],
            "n_trials": n_trials,
            "min_epochs": args.min_epochs,
            "eta": args.eta,
            "seeds": args.seeds,
            "storage": storage,
            "summary": _summary(f"{args.preset} ({preset['space']})", seeds),
            "per_seed": seeds,
        },
    )


def _share(value: float) -> float | str:
    """A share for the results file: "never" where the run never reached the target (NaN)."""
    return "never" if np.isnan(value) else float(value)


def _summary(data: str, seeds: list[dict]) -> dict:
    """Ranges over the seeds of the runs' sizes and seconds, and each share per seed."""

    def span(key: str) -> list[float]:
        values = [s[key] for s in seeds]
        return [min(values), max(values)]

    summary: dict = {"data": data}
    for key in (
        "full_networks",
        "full_seconds",
        "halving_completed",
        "halving_stopped",
        "halving_seconds",
    ):
        summary[key] = span(key)
    for key in seeds[0]:
        if key.startswith(("plain_", "normalized_")):
            summary[key] = [s[key] for s in seeds]
    return summary


def _halving_study(args, seed: int) -> str:
    return f"sh-m{args.min_epochs}-e{args.eta}-s{seed}"


def _search(space: str, storage: str, study: str, seed: int, n_trials: int, extra) -> None:
    command = [
        sys.executable, "-m", "sqzdse", "search", "--space", space, "--storage", storage,
        "--study", study, "--seed", str(seed), "--n-trials", str(n_trials), "-q", *extra,
    ]  # fmt: skip
    print(f"# {' '.join(command[2:])}", file=sys.stderr, flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def seconds_and_hypervolume(frame, scale) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative training seconds and hypervolume of the completed networks after each trial, in
    the coordinates `scale` gives (see `Scale`)."""
    from sqzdse.analysis import hypervolume

    frame = frame.sort_values("number")
    # a trial that reused a twin's result carries the twin's seconds but trained nothing
    trained = frame["reused_from"].isna().to_numpy()
    spent = np.cumsum(np.where(trained, frame["train_seconds"].fillna(0.0), 0.0))
    volumes, points = [], []
    for _, row in frame.iterrows():
        if row["status"] == "ok":
            points.append(scale.point(row["top1"], row["params"]))
        volumes.append(
            hypervolume(points, directions=("maximize", "minimize"), reference=scale.reference)
            if points
            else 0.0
        )
    return spent, np.asarray(volumes)


class Scale:
    """Where a front's points lie for its hypervolume: `plain` or `normalized` (DESCRIPTIONS)."""

    DESCRIPTIONS = {
        "plain": "top-1 and params as they are, against top-1 0 and 1.1x the space's largest "
        "network (the dashboard's reference); with accuracies far above 0, one small accurate "
        "network holds most of that volume",
        "normalized": "top-1 scaled to [0, 1] from the worst to the best seen, log10(params) from "
        "the smallest to the largest seen (over every completed network of every run compared), "
        "against (0, 1.1): the volume moves with every part of the front",
    }

    def __init__(self, kind: str, frames, largest: int) -> None:
        self.kind = kind
        done = [f[f["status"] == "ok"] for f in frames]
        top1 = np.concatenate([f["top1"].to_numpy(dtype=float) for f in done])
        logp = np.log10(np.concatenate([f["params"].to_numpy(dtype=float) for f in done]))
        self.top1_range = (top1.min(), top1.max())
        self.logp_range = (logp.min(), logp.max())
        self.reference = (0.0, 1.1 * largest) if kind == "plain" else (0.0, 1.1)

    def point(self, top1: float, params: float) -> tuple[float, float]:
        if self.kind == "plain":
            return (top1, params)
        (a0, a1), (p0, p1) = self.top1_range, self.logp_range
        return ((top1 - a0) / (a1 - a0), (np.log10(params) - p0) / (p1 - p0))


def largest_network(space_name: str) -> int:
    """Parameters of the largest network the space can draw (every combination of its values)."""
    from sqzdse.data import load_dataset
    from sqzdse.records import analytic_metrics
    from sqzdse.space import load_space

    space = load_space(space_name)
    base = space.base_config(load_dataset(space.training.data_spec()).num_classes)
    grid = space.searched_params()
    names = list(grid)
    return max(
        analytic_metrics(base.replace(**dict(zip(names, values))))["params"]
        for values in itertools.product(*grid.values())
    )


def first_reaching(seconds: np.ndarray, volumes: np.ndarray, target: float) -> float:
    """The cumulative seconds at which `volumes` first reaches `target` (NaN if never)."""
    reached = np.flatnonzero(volumes >= target)
    return float(seconds[reached[0]]) if len(reached) else np.nan


def volume_at(seconds: np.ndarray, volumes: np.ndarray, budget: float) -> float:
    """The hypervolume after the last trial that finished within `budget` seconds."""
    k = np.searchsorted(seconds, budget, side="right") - 1
    return float(volumes[k]) if k >= 0 else 0.0


def _report(space: str, storage: str, seeds: int, args) -> list[dict]:
    """Prints the tables; returns the same figures per seed, for the results file."""
    from sqzdse.analysis import load_trials

    runs = [
        (
            load_trials(storage, study_name=f"full-s{seed}"),
            load_trials(storage, study_name=_halving_study(args, seed)),
        )
        for seed in range(seeds)
    ]
    largest = largest_network(space)
    per_seed: list[dict] = [{"seed": seed} for seed in range(seeds)]
    print(
        f"{space}: successive halving (min_epochs {args.min_epochs}, eta {args.eta}, "
        f"{len(runs[0][1])} trials) vs full fidelity ({len(runs[0][0])} trials), {seeds} seeds"
    )
    for kind in ("plain", "normalized"):
        scale = Scale(kind, [f for pair in runs for f in pair], largest)
        print(f"\nhypervolume, {kind}: {Scale.DESCRIPTIONS[kind]}")
        print(
            "| seed | full: networks, s | full: s to 95% of its own final HV | halving: "
            "completed / stopped, s | halving: s to 95% of full's final HV (share of full s) | "
            "halving HV at half the full s | halving final HV |"
        )
        print("|---|---|---|---|---|---|---|")
        shares, at_half = [], []
        for seed, (full, sh) in enumerate(runs):
            full_s, full_hv = seconds_and_hypervolume(full, scale)
            sh_s, sh_hv = seconds_and_hypervolume(sh, scale)
            target = GOAL_SHARE * full_hv[-1]
            own = first_reaching(full_s, full_hv, target)
            reached = first_reaching(sh_s, sh_hv, target)
            shares.append(reached / full_s[-1])
            at_half.append(volume_at(sh_s, sh_hv, full_s[-1] / 2) / full_hv[-1])
            counts = sh["status"].value_counts()
            per_seed[seed].update(
                {
                    "full_networks": int((full["status"] == "ok").sum()),
                    "full_seconds": float(full_s[-1]),
                    "halving_completed": int(counts.get("ok", 0)),
                    "halving_stopped": int(counts.get("stopped", 0)),
                    "halving_seconds": float(sh_s[-1]),
                    f"{kind}_full_own_95": _share(own / full_s[-1]),
                    f"{kind}_halving_95": _share(shares[-1]),
                    f"{kind}_halving_at_half": float(at_half[-1]),
                    f"{kind}_halving_final": float(sh_hv[-1] / full_hv[-1]),
                }
            )
            print(
                f"| {seed} | {int((full['status'] == 'ok').sum())}, {full_s[-1]:.0f} s | "
                f"{own:.0f} s ({own / full_s[-1]:.2f}) | {counts.get('ok', 0)} / "
                f"{counts.get('stopped', 0)}, {sh_s[-1]:.0f} s | {reached:.0f} s "
                f"({shares[-1]:.2f}) | {at_half[-1]:.3f} of full | "
                f"{sh_hv[-1] / full_hv[-1]:.3f} of full |"
            )
        missed = int(np.isnan(shares).sum())
        print(
            f"median share of the full run's seconds to reach 95% of its final hypervolume: "
            f"{np.nanmedian(shares) if missed < seeds else float('nan'):.2f} (goal <= 0.50; "
            f"never reached in {missed} of {seeds} seeds); median hypervolume at half its "
            f"seconds: {np.median(at_half):.3f} of the full run's final"
        )
    return per_seed


if __name__ == "__main__":
    main()
