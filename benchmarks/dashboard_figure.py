"""Server-side cost of the dashboard's main figure on a large study (goal: < 1 s for 5,000 trials).

    python benchmarks/dashboard_figure.py                 # 5,000 trials, 5 repeats
    python benchmarks/dashboard_figure.py --trials 500 --repeat 3

The study is made once by `sqzdse.testing` (the records a search writes: ok, reused, failed
and infeasible trials over the micro space's values) in an SQLite file that later runs reuse
(`--db`; writing 5,000 trials through Optuna takes minutes). Printed, separately:
- load: what the dashboard does to read the study from SQLite (read-only) into its DataFrame, cold
  (a fresh reader) and on a live refresh that finds nothing changed;
- figure: `pareto_info` + `pareto_figure` (what the main-view callback computes), and the JSON
  encoding Dash then sends; the other views are listed for reference.
Times are medians over `--repeat` runs, in seconds, also written with date, commit, machine and
command to `--output` (default `results/dashboard_figure.json`).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import optuna
import plotly.io as pio
from _provenance import ROOT, write_result

from sqzdse.dashboard import figures
from sqzdse.dashboard.source import StudySource
from sqzdse.records import DEFAULT_ACCURACY, DEFAULT_COST, analytic_metrics
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

STUDY = "bench"
CHOICES = {
    "base_e": [32, 64, 96, 128],
    "incr_e": [32, 64, 96, 128],
    "pct_3x3": [k / 8 for k in range(1, 8)],
    "freq": [1, 2, 3, 4],
    "sr": [0.125, 0.25, 0.5, 0.75],
    "bypass": ["none", "simple", "complex"],
}


def make_study(path: Path, trials: int, *, seed: int) -> None:
    """`trials` trials in a new SQLite file: 92% trained (accuracy rising with log params, plus
    noise), 3% reused, 2% failed, 3% infeasible. Written under a temporary name, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    rng = random.Random(seed)
    study = create_study(sqlite_url(partial), study_name=STUDY)
    trained = []
    for _ in range(trials):
        arch = small_arch(**{name: rng.choice(values) for name, values in CHOICES.items()})
        roll = rng.random()
        if roll < 0.02:
            add_trial(study, arch=arch, status="failed")
        elif roll < 0.05:
            add_trial(study, arch=arch, status="infeasible")
        elif roll < 0.08 and trained:
            number, top1, top5 = rng.choice(trained)
            add_trial(study, arch=arch, status="reused", reused_from=number, top1=top1, top5=top5)
        else:
            params = analytic_metrics(arch)[DEFAULT_COST]
            top1 = min(0.99, max(0.1, 0.08 * math.log(params) - 0.1 + rng.gauss(0, 0.04)))
            top5 = min(1.0, top1 + rng.uniform(0.02, 0.1))
            trained.append((add_trial(study, arch=arch, top1=top1, top5=top5), top1, top5))
    partial.rename(path)


def median_time(func, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--db",
        type=Path,
        help="SQLite file of the study [default: made once under the system's temporary folder]",
    )
    parser.add_argument("--output", default=ROOT / "results" / "dashboard_figure.json")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    db = (
        args.db
        or Path(tempfile.gettempdir())
        / "sqzdse-bench"
        / f"dashboard-{args.trials}-seed{args.seed}.db"
    )

    if db.exists():
        print(f"study: {db} (made by an earlier run; delete it to make it again)")
    else:
        print(
            f"making {args.trials} trials with sqzdse.testing in {db} (once; later runs "
            "reuse it) ...",
            flush=True,
        )
        start = time.perf_counter()
        make_study(db, args.trials, seed=args.seed)
        print(f"  made in {time.perf_counter() - start:.1f} s")
    url = f"sqlite:///{db}"

    load_cold, data = median_time(lambda: StudySource(url).load(STUDY), args.repeat)
    source = StudySource(url)
    source.load(STUDY)
    load_warm, _ = median_time(lambda: (source.version(STUDY), source.load(STUDY)), args.repeat)
    datas = [data]
    x, y = DEFAULT_COST, DEFAULT_ACCURACY
    info_s, info = median_time(
        lambda: figures.pareto_info(datas, x=x, y=y, color="bypass"), args.repeat
    )
    figure_s, fig = median_time(lambda: figures.pareto_figure(info), args.repeat)
    json_s, _ = median_time(lambda: pio.to_json(fig, validate=False), args.repeat)
    continuous_s, _ = median_time(
        lambda: figures.pareto_figure(figures.pareto_info(datas, x=x, y=y, color="sr")), args.repeat
    )
    others = {
        "hypervolume (info + figure)": lambda: figures.hypervolume_figure(
            figures.hypervolume_info(datas, x=x, y=y)
        ),
        "parallel coordinates (info + figure)": lambda: figures.parallel_figure(
            figures.parallel_info(data, x=x, y=y)
        ),
        "trial table rows": lambda: figures.trial_table_rows(datas, x=x, y=y),
    }
    other_times = {
        name: median_time(func, max(1, args.repeat // 2))[0] for name, func in others.items()
    }

    main_total = info_s + figure_s
    print(
        f"\nstudy: {len(data.frame)} trials, {len(info.points)} plotted, "
        f"{int(info.points['on_front'].sum())} on the front of {y} vs {x}; "
        f"median of {args.repeat} runs, seconds"
    )
    print("load (server side, from SQLite, read-only)")
    print(f"  cold: open + read every trial + trials frame     {load_cold:8.3f}")
    print(f"  live refresh, nothing changed                    {load_warm:8.3f}")
    print("main figure (server side)")
    print(f"  pareto_info (front, hover texts, references)     {info_s:8.3f}")
    print(f"  pareto_figure (go.Figure)                        {figure_s:8.3f}")
    print(
        f"  = main figure                                    {main_total:8.3f}   "
        f"goal < 1 s: {'met' if main_total < 1 else 'NOT met'}"
    )
    print(f"  JSON encoding sent by Dash                       {json_s:8.3f}")
    print(f"  main figure coloured by sr (info + figure)       {continuous_s:8.3f}")
    print("other views, for reference")
    for name, seconds in other_times.items():
        print(f"  {name:<48} {seconds:8.3f}")
    write_result(
        args.output,
        {
            "trials": len(data.frame),
            "plotted": len(info.points),
            "repeat": args.repeat,
            "load_cold_seconds": load_cold,
            "load_warm_seconds": load_warm,
            "pareto_info_seconds": info_s,
            "pareto_figure_seconds": figure_s,
            "main_figure_seconds": main_total,
            "json_seconds": json_s,
            "coloured_by_sr_seconds": continuous_s,
            "other_seconds": other_times,
        },
    )


if __name__ == "__main__":
    main()
