"""Trials per hour with 1, 2 and 4 local workers sharing one SQLite study, on this machine.

    python benchmarks/workers.py [--workers 1 2 4] [--trials 16]
    python benchmarks/workers.py --device cuda --workers 1 2 4 8 --trials 96 --wide [--label MPS]

Every run searches the same space (small networks on digits at 32x32, 1 epoch) in a fresh study with
`sqzdse search --workers K` and reports wall-clock time, trials per hour and the speed-up over the
first worker count, measured in the same run. Within a study a repeated architecture reuses its
result, and parallel workers draw other architectures than one worker does: compare the ratios, not
single trials. `--wide` searches a wider space (392 networks instead of 72), so that few trials are
reused; the table then also counts trained and reused trials, the trained trials per hour once every
worker is under way (from the K-th trial's end to the last one's: process start-up and CUDA set-up
left out, `steady/h`) and the median seconds of one trained trial. `--label` names the run in the
table (e.g. whether CUDA MPS was on). The figures are written with date, commit, machine and command
to `--output` (default `results/workers.json`, with a device other than the CPU
`results/workers_gpu.json`).
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _provenance import ROOT, write_result

SPACE = {
    "name": "bench",
    "metaparameters": {
        "base_e": {"choices": [16, 32, 48, 64]},
        "incr_e": {"choices": [16, 32, 64]},
        "pct_3x3": {"choices": [0.25, 0.5, 0.75]},
        "freq": 2,
        "sr": {"choices": [0.125, 0.25]},
    },
    "sampler": {"name": "random", "seed": 0},
    "training": {"resolution": 32, "epochs": 1, "device": "cpu"},
}
WIDE = {
    "base_e": {"choices": [16, 24, 32, 40, 48, 56, 64]},
    "incr_e": {"choices": [16, 32, 48, 64]},
    "pct_3x3": {"low": 0.125, "high": 0.875, "step": 0.125},
    "freq": 2,
    "sr": {"choices": [0.125, 0.25]},
}


def run(workers: int, trials: int, folder: Path, *, device: str, epochs: int, wide: bool) -> dict:
    space = folder / f"bench{workers}.yaml"
    spec = {
        **SPACE,
        "n_trials": trials,
        "training": {**SPACE["training"], "device": device, "epochs": epochs},
    }
    if wide:
        spec["metaparameters"] = WIDE
    space.write_text(yaml.safe_dump(spec))
    db = folder / f"bench{workers}.db"
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sqzdse",
            "search",
            "--space",
            str(space),
            "--storage",
            f"sqlite:///{db}",
            "--workers",
            str(workers),
            "--quiet",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    return {"seconds": seconds, **study_figures(db, workers)}


def study_figures(db: Path, workers: int) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="bench", storage=f"sqlite:///{db}")
    trials = [t for t in study.trials if t.datetime_complete is not None]
    status = [t.user_attrs.get("status") for t in trials]
    trained = [t for t in trials if t.user_attrs.get("status") == "ok"]
    durations = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trained]
    # Steady state: from the moment every worker could have finished its first trial (process start,
    # CUDA set-up) to the last trial's end, the trained trials finished in between.
    done = sorted(t.datetime_complete for t in trained)
    skip = min(workers, len(done) - 1) if done else 0
    span = (done[-1] - done[skip - 1]).total_seconds() if skip else float("nan")
    steady_trained = len(done) - skip
    devices = sorted({t.user_attrs.get("device") for t in trained})
    return {
        "trained": len(trained),
        "reused": status.count("reused"),
        "failed": status.count("failed"),
        "span": span,
        "steady_trained": steady_trained,
        "per_trial": statistics.median(durations) if durations else float("nan"),
        "devices": ",".join(map(str, devices)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (every worker)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--wide", action="store_true", help="a wider space: fewer reused trials")
    parser.add_argument("--label", default="", help="a name for this run in the table")
    parser.add_argument(
        "--output",
        help="results file [default: results/workers.json; off the CPU results/workers_gpu.json]",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            w: run(
                w, args.trials, Path(tmp), device=args.device, epochs=args.epochs, wide=args.wide
            )
            for w in args.workers
        }
    base = runs[args.workers[0]]
    print(
        f"{args.trials} trials, {args.epochs} epoch(s), device {args.device}"
        f"{', ' + args.label if args.label else ''}"
    )
    print(
        f"{'workers':>7}  {'seconds':>8}  {'trials/hour':>11}  {'speed-up':>8}  {'trained':>7}  "
        f"{'reused':>6}  {'failed':>6}  {'trained/h':>9}  {'steady/h':>9}  {'s/trial':>7}  "
        f"{'steady x':>8}  devices"
    )
    for w, r in runs.items():
        steady = r["steady_trained"] * 3600 / r["span"]
        base_steady = base["steady_trained"] * 3600 / base["span"]
        print(
            f"{w:>7}  {r['seconds']:>8.1f}  {args.trials * 3600 / r['seconds']:>11,.0f}  "
            f"{base['seconds'] / r['seconds']:>7.2f}x  {r['trained']:>7}  {r['reused']:>6}  "
            f"{r['failed']:>6}  {r['trained'] * 3600 / r['seconds']:>9,.0f}  {steady:>9,.0f}  "
            f"{r['per_trial']:>7.3f}  {steady / base_steady:>7.2f}x  {r['devices']}"
        )
    rows = []
    for w, r in runs.items():
        steady = r["steady_trained"] * 3600 / r["span"]
        rows.append(
            {
                "workers": w,
                "seconds": r["seconds"],
                "trials_per_hour": args.trials * 3600 / r["seconds"],
                "speedup": base["seconds"] / r["seconds"],
                "trained": r["trained"],
                "reused": r["reused"],
                "failed": r["failed"],
                "trained_per_hour": r["trained"] * 3600 / r["seconds"],
                "steady_trials_per_hour": steady,
                "steady_speedup": steady / (base["steady_trained"] * 3600 / base["span"]),
                "seconds_per_trial": r["per_trial"],
                "devices": r["devices"],
            }
        )
    default = "workers.json" if args.device == "cpu" else "workers_gpu.json"
    write_result(
        args.output or ROOT / "results" / default,
        {
            "device": args.device,
            "trials": args.trials,
            "epochs": args.epochs,
            "wide": args.wide,
            "label": args.label,
            "runs": rows,
        },
    )


if __name__ == "__main__":
    main()
