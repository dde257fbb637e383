"""Candidate proxies against one reference: the table behind the shipped proxy settings.

    python benchmarks/fidelity.py fashion     # Fashion-MNIST: 24 networks, reference 10 epochs
    python benchmarks/fidelity.py digits      # digits: 24 networks, reference 12 epochs

Runs `sqzdse fidelity` once per candidate proxy (each on 2 seeds) against the same reference and
the same networks, in one storage (default `studies/fidelity/benchmark-<preset>.db`): the reference
runs are trained once and reused by every candidate, and an interrupted benchmark resumes where it
stopped. Prints one row per candidate: seconds per proxy run, its cost as a share of a reference
run, the Kendall tau of proxy top-1, of the parameter count and of the proxy's best other signal
against the reference top-1, the within-size tau and the proxy's seed-to-seed tau, and writes the
same figures with date, commit, machine and command to `--output` (default
`results/fidelity_<preset>.json`), which the fidelity results page renders. `--candidates a,b` runs
some of them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _provenance import ROOT, write_result

# name -> fidelity flags; every candidate of a preset costs about the same image-epochs, except
# where its name says otherwise. The reference and every proxy setting a candidate leaves alone are
# given explicitly, so that the table does not move when a shipped space's defaults do.
PRESETS = {
    "fashion": {
        "space": "fashion",
        "reference": (
            "--reference-epochs 10 --reference-train-per-class 2000 --reference-val-per-class 500 "
            "--reference-batch-size 64 --reference-resolution 32 "
            "--proxy-val-per-class 100 --proxy-batch-size 64 --proxy-resolution 32"
        ),
        "candidates": {
            "300/class x 3 epochs (shipped before)": "--proxy-epochs 3 --proxy-train-per-class 300",
            "900/class x 1 epoch": "--proxy-epochs 1 --proxy-train-per-class 900",
            "450/class x 2 epochs": "--proxy-epochs 2 --proxy-train-per-class 450",
            "300/class x 3 epochs, batch 32": (
                "--proxy-epochs 3 --proxy-train-per-class 300 --proxy-batch-size 32"
            ),
            "600/class x 3 epochs (2x cost)": "--proxy-epochs 3 --proxy-train-per-class 600",
            "450/class x 2 epochs at 28 px (0.6x cost)": (
                "--proxy-epochs 2 --proxy-train-per-class 450 --proxy-resolution 28"
            ),
        },
    },
    "digits": {
        "space": "micro",
        "reference": (
            "--reference-epochs 12 --reference-batch-size 64 --reference-resolution 32 "
            "--proxy-batch-size 64 --proxy-resolution 32"
        ),
        "candidates": {
            "3 epochs, batch 64 (shipped before)": "--proxy-epochs 3",
            "3 epochs, batch 32": "--proxy-epochs 3 --proxy-batch-size 32",
            "3 epochs, batch 16": "--proxy-epochs 3 --proxy-batch-size 16",
            "1 epoch, batch 16": "--proxy-epochs 1 --proxy-batch-size 16",
            "6 epochs, batch 64 (2x cost)": "--proxy-epochs 6",
        },
    },
}
OTHER_SIGNALS = ("best_epoch_top1", "val_loss", "train_loss_sum")


def measure(preset: dict, flags: list[str], *, storage: str, archs: int, device: str) -> dict:
    command = [
        sys.executable, "-m", "sqzdse", "fidelity", "--space", preset["space"],
        "--archs", str(archs), "--storage", storage, "--device", device, "--json",
        *preset["reference"].split(), *flags.split(),
    ]  # fmt: skip
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"fidelity run failed ({done.returncode}): {' '.join(command)}")
    return json.loads(done.stdout)


def row(name: str, report: dict) -> str:
    tau = report["kendall_tau"]
    best = max(OTHER_SIGNALS, key=lambda s: report["signals"][s]["kendall_tau"] or -2)
    cells = [
        name,
        f"{report['proxy_seconds']:.1f}",
        f"{100 * report['cost_ratio']:.1f}%",
        _f(tau["proxy"]),
        _f(tau["params"]),
        _f(tau["proxy"] - tau["params"]),
        f"{best} {_f(report['signals'][best]['kendall_tau'])}",
        _f(tau["within_size"]),
        _f(tau["seed_to_seed"]),
        " ".join(_f(t) for t in tau["by_proxy_epoch"]),
    ]
    return "| " + " | ".join(cells) + " |"


def figures(name: str, report: dict) -> dict:
    """The figures of `row` as data, for the results file."""
    tau = report["kendall_tau"]
    best = max(OTHER_SIGNALS, key=lambda s: report["signals"][s]["kendall_tau"] or -2)
    return {
        "proxy": name,
        "seconds_per_run": report["proxy_seconds"],
        "cost_ratio": report["cost_ratio"],
        "tau_proxy": tau["proxy"],
        "tau_params": tau["params"],
        "tau_difference": None
        if tau["proxy"] is None or tau["params"] is None
        else tau["proxy"] - tau["params"],
        "best_signal": best,
        "best_signal_tau": report["signals"][best]["kendall_tau"],
        "within_size_tau": tau["within_size"],
        "seed_to_seed": tau["seed_to_seed"],
        "tau_by_epoch": tau["by_proxy_epoch"],
        "verdict": report["verdict"],
    }


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", choices=sorted(PRESETS))
    parser.add_argument("--archs", type=int, default=24)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--storage", help="default: sqlite:///studies/fidelity/benchmark-<preset>.db"
    )
    parser.add_argument("--candidates", help="comma-separated candidate numbers (1-based) to run")
    parser.add_argument("--output", help="results file [default: results/fidelity_<preset>.json]")
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    storage = args.storage or f"sqlite:///studies/fidelity/benchmark-{args.preset}.db"
    chosen = list(preset["candidates"].items())
    if args.candidates:
        chosen = [chosen[int(i) - 1] for i in args.candidates.split(",")]
    header = (
        "| proxy | s/run | cost vs reference | tau proxy | tau params | difference "
        "| best other signal | within-size tau | seed-to-seed | tau by epoch |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    candidates = []
    for name, flags in chosen:
        report = measure(preset, flags, storage=storage, archs=args.archs, device=args.device)
        lines.append(row(name, report))
        candidates.append(figures(name, report))
        print(f"{name}: {report['verdict']}", file=sys.stderr, flush=True)
    print(
        f"{args.preset}: {args.archs} networks of {preset['space']}, reference "
        f"{preset['reference']}; storage {storage}"
    )
    print("\n".join(lines))
    write_result(
        args.output or ROOT / "results" / f"fidelity_{args.preset}.json",
        {
            "preset": args.preset,
            "space": preset["space"],
            "archs": args.archs,
            "reference": preset["reference"],
            "storage": storage,
            "candidates": candidates,
        },
    )


if __name__ == "__main__":
    main()
