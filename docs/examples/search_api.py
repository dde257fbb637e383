"""Run a search from Python: what `sqzdse search --space micro` does, as one call.

The shipped `micro` space, shrunk by overrides (the `sqzdse search` flags by their keyword names)
so that it runs in seconds on a CPU; the study goes to a temporary folder. Drop the overrides and
give `storage="sqlite:///studies/micro.db"` for the real thing.
"""

import tempfile
from pathlib import Path

import optuna

from sqzdse.analysis import load_trials
from sqzdse.search import run

optuna.logging.set_verbosity(optuna.logging.WARNING)

with tempfile.TemporaryDirectory() as folder:
    url = f"sqlite:///{Path(folder) / 'micro.db'}"
    done = run(
        "micro",
        storage=url,
        n_trials=3,
        epochs=1,
        resolution=32,
        train_per_class=10,
        val_per_class=5,
        say=print,  # the header and one progress line per trial; leave it out to run quietly
    )
    print(f"{len(done.study.trials)} trials; objectives {', '.join(done.objectives)}")
    df = load_trials(url)
    print(df[["number", "params", "top1"]].to_string(index=False))
