"""From a proxy front to trained networks on Fashion-MNIST, beside SqueezeNet and published results.

    python benchmarks/front_fashion.py                  # every stage; run again to resume
    python benchmarks/front_fashion.py --stage search   # only the search
    python benchmarks/front_fashion.py --stage report   # the table from what is stored

Stages, each resumable (the same command carries on where it stopped):
1. search: `sqzdse search --space fashion_small` (Fashion-MNIST at 32 px, searched stem and late
   pools; the proxy selects on validation images held out of the training split).
2. tune: the recipe's peak learning rate, chosen on validation top-1 alone: the cheapest chosen
   network (fewest MACs), one seed, the retraining epochs, at each of TUNED_LRS. The epochs are
   fixed by the machine's budget, not tuned.
3. retrain: the networks of the proxy front chosen below, with SqueezeNet v1.0 and v1.1 beside
   them, all on the same schedule and seeds over the full training split, through
   `sqzdse retrain --trials ... --baselines v1.0,v1.1` (stored run by run; shareable).
4. report: validation and test top-1 and CPU latency of every retrained network beside the
   published Fashion-MNIST test accuracies, the goals, and the compute spent; written with date,
   commit, machine and command to results/front_fashion.json.

Which front networks are retrained (the machine has 2 cores, so not the whole front): for each
goal size (30,000, 100,000 and 800,000 parameters) the front network with the best proxy top-1
within it, and the front's knee. Only the validation split chooses them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _provenance import write_result

PUBLISHED = (  # Fashion-MNIST's benchmark table (test accuracy; submitted, not re-run)
    ("SqueezeNet, cyclical learning rate, 200 epochs", None, 0.900),
    ("2 conv layers, <100K parameters", 100_000, 0.925),
    ("3 conv + pooling, 2 FC + dropout", None, 0.926),
    ("ResNet18", None, 0.949),
    ("MobileNet", None, 0.950),
    ("DenseNet-BC, 768K parameters", 768_000, 0.954),
    ("WRN40-4, 8.9M parameters", 8_900_000, 0.967),
)
GOALS = ((100_000, 0.935), (30_000, 0.900), (800_000, 0.954))  # (at most params, test top-1)
BUDGETS = (30_000, 100_000, 800_000)
TUNED_LRS = (1e-3, 3e-3, 1e-2)  # peak AdamW learning rates tried (3e-3: the trainer's default)
SPACE, STUDY = "fashion_small", "front"
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stage", choices=("all", "search", "tune", "retrain", "report"), default="all"
    )
    parser.add_argument("--storage", default="sqlite:///studies/front_fashion.db")
    parser.add_argument("--n-trials", type=int, default=40, help="search trials (default 40)")
    parser.add_argument("--epochs", type=int, default=15, help="retraining epochs (default 15)")
    parser.add_argument("--seeds", type=int, default=2, help="retraining seeds (default 2)")
    parser.add_argument("--output", default=str(ROOT / "results" / "front_fashion.json"))
    args = parser.parse_args()
    if args.stage in ("all", "search"):
        _sqzdse(
            "search", "--space", SPACE, "--storage", args.storage, "--study", STUDY,
            "--n-trials", str(args.n_trials),
        )  # fmt: skip
    if args.stage in ("all", "tune", "retrain", "report"):
        trials = chosen_trials(args.storage)
        tuning = tune(args, trials, quiet=args.stage in ("retrain", "report"))
        lr = max(tuning, key=lambda t: t["val_top1"])["lr"]
    if args.stage in ("all", "retrain", "report"):
        print(f"retraining front trials {trials} with v1.0 and v1.1, lr {lr:g}", file=sys.stderr)
        retrain = [
            "retrain", "--storage", args.storage, "--study", STUDY,
            "--trials", ",".join(map(str, trials)), "--baselines", "v1.0,v1.1",
            "--epochs", str(args.epochs), "--seeds", str(args.seeds), "--lr", str(lr), "--json",
        ]  # fmt: skip
        if args.stage == "report":
            retrain.append("--quiet")
        report = json.loads(_sqzdse(*retrain, capture=True))
        write_report(args, report, tuning)


def tune(args, trials: list[int], *, quiet: bool) -> list[dict]:
    """Each tried learning rate's validation top-1 on the cheapest chosen network (stored runs
    are read back, not trained again)."""
    network = min(trials, key=lambda t: _network(args.storage, str(t)).macs)
    tried = []
    for lr in TUNED_LRS:
        argv = [
            "retrain", "--storage", args.storage, "--study", STUDY, "--trials", str(network),
            "--epochs", str(args.epochs), "--seeds", "1", "--lr", str(lr), "--json",
        ]  # fmt: skip
        entry = json.loads(_sqzdse(*argv, *(["--quiet"] if quiet else []), capture=True))
        (result,) = entry["networks"]
        tried.append({"trial": network, "lr": lr, "val_top1": result["val_top1"],
                      "train_seconds": result["train_seconds"]})  # fmt: skip
        print(
            f"tune: trial {network} lr {lr:g}: val top-1 {result['val_top1']:.4f}", file=sys.stderr
        )
    return tried


def _sqzdse(*argv: str, capture: bool = False) -> str:
    command = [sys.executable, "-m", "sqzdse", *argv]
    print("+ sqzdse " + " ".join(argv), file=sys.stderr)
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE if capture else None, text=True)
    if done.returncode != 0:
        raise SystemExit(done.returncode)
    return done.stdout or ""


def chosen_trials(storage: str) -> list[int]:
    """The best proxy network within each budget, and the knee, among the front's networks."""
    from sqzdse.analysis import knee_point, load_trials
    from sqzdse.front import front_networks
    from sqzdse.storage import load_study

    study = load_study(storage, study_name=STUDY)
    networks = front_networks(study, study.metric_names)
    chosen = []
    for budget in BUDGETS:
        within = [n for n in networks if n.params <= budget and n.proxy_top1 is not None]
        if within:
            chosen.append(max(within, key=lambda n: n.proxy_top1).trial)
    frame = load_trials(storage, study_name=STUDY)
    front = frame[frame["pareto"].astype(bool)]
    knee = knee_point(front, [("top1", "maximize"), ("params", "minimize")])
    if knee is not None:
        chosen.append(int(front.loc[knee, "number"]))
    known = {n.trial for n in networks}
    return sorted({t for t in chosen if t in known})


def _network(storage: str, name: str):
    """A retrained network by its report name: a trial number, or a baseline at the study's data."""
    from sqzdse.front import baseline_networks, chosen_networks
    from sqzdse.records import StudyInfo
    from sqzdse.storage import load_study

    study = load_study(storage, study_name=STUDY)
    if name.isdigit():
        return chosen_networks(study, [int(name)], study.metric_names)[0]
    info = StudyInfo.read(study)
    resolution = info.training["resolution"]
    return baseline_networks([name], num_classes=info.num_classes, resolution=resolution)[0]


def write_report(args, report: dict, tuning: list[dict]) -> None:
    from sqzdse.latency import measure_latency

    networks = report["networks"]
    for n in networks:  # on this machine, 1 thread, batch 1 (sqzdse.latency)
        n["latency_ms"] = measure_latency(_network(args.storage, n["name"]).arch).median_ms
    lines = [
        f"{'network':>9} {'params':>9} {'MACs':>11} {'ms':>6} {'proxy':>7} {'val':>7} {'test':>7} "
        f"{'+-':>6} {'seconds':>8}"
    ]
    for n in sorted(networks, key=lambda n: n["params"]):
        by_seed = n["test_top1_by_seed"]
        spread = (max(by_seed) - min(by_seed)) / 2
        proxy = f"{n['proxy_top1']:.4f}" if n.get("proxy_top1") is not None else "-"
        lines.append(
            f"{n['name']:>9} {n['params']:>9,} {n['macs']:>11,} {n['latency_ms']:>6.2f} {proxy:>7} "
            f"{n['val_top1']:.4f} "
            f"{n['test_top1']:.4f} {spread:>6.4f} {n['train_seconds']:>8.0f}"
        )
    lines += [f"tuned on validation: trial {t['trial']} lr {t['lr']:g} -> {t['val_top1']:.4f}"
              for t in tuning]  # fmt: skip
    lines.append("published (Fashion-MNIST benchmark table, test top-1):")
    lines += [f"  {name}: {acc:.3f}" for name, _, acc in PUBLISHED]
    goals = goal_outcomes(networks)
    lines += [g["text"] for g in goals]
    lines.append(f"Kendall tau (proxy vs test top-1, retrained trials): {report['kendall_tau']}")
    search_seconds = search_compute(args.storage)
    tuning_seconds = sum(t["train_seconds"] for t in tuning)
    lines.append(
        f"compute: search {search_seconds / 3600:.2f} h of training, tuning "
        f"{tuning_seconds / 3600:.2f} h, retraining {report['train_seconds'] / 3600:.2f} h"
    )
    print("\n".join(lines))
    write_result(
        args.output,
        {
            "retrain": report,
            "tuning": tuning,
            "goals": goals,
            "search_train_seconds": search_seconds,
            "published": [{"name": n, "params": p, "test_top1": a} for n, p, a in PUBLISHED],
        },
    )


def goal_outcomes(networks: list[dict]) -> list[dict]:
    """Each goal: the best found (non-baseline) network within its size, and whether it is met;
    and whether a found network dominates v1.1 beyond the seed spread."""
    found = [n for n in networks if n["name"] not in ("v1.0", "v1.1")]
    outcomes = []
    for budget, target in GOALS:
        within = [n for n in found if n["params"] <= budget]
        best = max(within, key=lambda n: n["test_top1"], default=None)
        reached = best is not None and best["test_top1"] >= target
        text = f"goal >= {target:.3f} at <= {budget:,} params: " + (
            f"trial {best['name']} {best['test_top1']:.4f} ({best['params']:,}) -> "
            f"{'met' if reached else 'not met'}"
            if best
            else "no retrained network that small"
        )
        outcomes.append({"budget": budget, "target": target, "best": best, "met": reached,
                         "text": text})  # fmt: skip
    v11 = next((n for n in networks if n["name"] == "v1.1"), None)
    if v11 is not None:
        margin = (max(v11["test_top1_by_seed"]) - min(v11["test_top1_by_seed"])) / 2
        dominating = [
            n
            for n in found
            if n["params"] < v11["params"]
            and min(n["test_top1_by_seed"]) > max(v11["test_top1_by_seed"])
        ]
        text = (
            f"dominates v1.1 ({v11['test_top1']:.4f} +- {margin:.4f}, {v11['params']:,} params) "
            "beyond the seed spread: "
            + (", ".join(f"trial {n['name']}" for n in dominating) or "none")
        )
        outcomes.append({"dominates_v1_1": [n["name"] for n in dominating], "text": text})
    return outcomes


def search_compute(storage: str) -> float:
    from sqzdse.analysis import load_trials

    frame = load_trials(storage, study_name=STUDY)
    return float(frame["train_seconds"].fillna(0).sum())


if __name__ == "__main__":
    main()
