"""Read a study into pandas: its Pareto front, the knee and the hypervolume against compute.

The study here is made by `sqzdse.testing` (the records a search writes, without training), in a
temporary folder; point `load_trials` at `sqlite:///studies/micro.db` or an exported file instead.
"""

import tempfile
from pathlib import Path

import optuna

from sqzdse.analysis import hypervolume_history, knee_point, load_trials, pareto_front
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

optuna.logging.set_verbosity(optuna.logging.WARNING)

with tempfile.TemporaryDirectory() as folder:
    url = sqlite_url(Path(folder) / "example.db")
    study = create_study(url, study_name="example")
    for sr, top5, seconds in [(0.125, 0.90, 3.0), (0.25, 0.95, 4.0), (0.5, 0.97, 6.0)]:
        add_trial(study, arch=small_arch(sr=sr), top1=top5 - 0.2, top5=top5, train_seconds=seconds)

    df = load_trials(url)  # one typed row per trial: the columns of every export
    front = df[pareto_front(df, {"top5": "maximize", "params": "minimize"})]
    print(front[["number", "sr", "params", "top5"]].to_string(index=False))
    # Bare metric names take their direction from sqzdse.records.
    knee = df.loc[knee_point(df, ["top5", "params"])]
    print(f"knee: trial {knee['number']}")
    history = hypervolume_history(df, ["top5", "params"])
    print(history.tail(1).to_string(index=False))
