"""Trials per hour with 1, 2 and 4 local workers sharing one SQLite study, on this machine.

    python benchmarks/workers.py [--workers 1 2 4] [--trials 16]

Every run searches the same space (small networks on digits at 32x32, 1 epoch) in a fresh study and
reports wall-clock time, trials per hour and the speed-up over the first worker count, measured in the
same run. Within a study a repeated architecture reuses its result, and parallel workers draw other
architectures than one worker does: compare the ratios, not single trials.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SPACE = {
    "name": "bench",
    "metaparameters": {"base_e": {"choices": [16, 32, 48, 64]}, "incr_e": {"choices": [16, 32, 64]},
                       "pct_3x3": {"choices": [0.25, 0.5, 0.75]}, "freq": 2,
                       "sr": {"choices": [0.125, 0.25]}},
    "sampler": {"name": "random", "seed": 0},
    "training": {"resolution": 32, "epochs": 1, "device": "cpu"},
}


def run(workers: int, trials: int, folder: Path) -> float:
    space = folder / f"bench{workers}.yaml"
    space.write_text(yaml.safe_dump({**SPACE, "n_trials": trials}))
    db = folder / f"bench{workers}.db"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sqzdse", "search", "--space", str(space), "--storage",
                    f"sqlite:///{db}", "--workers", str(workers), "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seconds = {w: run(w, args.trials, Path(tmp)) for w in args.workers}
    base = seconds[args.workers[0]]
    print(f"{'workers':>7}  {'seconds':>8}  {'trials/hour':>11}  {'speed-up':>8}")
    for w, s in seconds.items():
        print(f"{w:>7}  {s:>8.1f}  {args.trials * 3600 / s:>11,.0f}  {base / s:>7.2f}x")


if __name__ == "__main__":
    main()
