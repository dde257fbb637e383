"""The search: a space's trials run against a study, by one process or several workers.

    from sqzdse.search import run
    done = run("micro", storage="sqlite:///studies/micro.db", n_trials=8, epochs=1)
    done.study.best_trials

`run` is the whole search (what `sqzdse search` wraps). Its parts, for finer control:

    setup = make_setup(load_space("micro.yaml"))
    study = open_study(setup, storage=open_storage(url, mode="write"), study_name="micro")
    run_search(study, Objective(setup, n_trials=16))

`_setup` decides what a search measures and opens its study; `_objective` runs one trial;
`_halving` stops a trial at a rung of successive halving (`_rungs` decides); `_loop` runs trials
until the study holds enough; `_run` is `run`; `_workers` starts worker processes (`_worker`) on
one study; `_progress` is the line said per trial.
"""

from sqzdse.search._loop import DEFAULT_MAX_FAILURES, DEFAULT_MAX_INFEASIBLE, Progress, run_search
from sqzdse.search._objective import Interrupts, Objective, over_budget, software_versions
from sqzdse.search._progress import progress_line
from sqzdse.search._run import RunSettings, SearchRun, run
from sqzdse.search._setup import SearchSetup, check_runnable, make_setup, open_study
from sqzdse.search._workers import WORKERS_PER_GPU, resolve_workers

__all__ = [
    "DEFAULT_MAX_FAILURES",
    "DEFAULT_MAX_INFEASIBLE",
    "WORKERS_PER_GPU",
    "Interrupts",
    "Objective",
    "Progress",
    "RunSettings",
    "SearchRun",
    "SearchSetup",
    "check_runnable",
    "make_setup",
    "open_study",
    "over_budget",
    "progress_line",
    "resolve_workers",
    "run",
    "run_search",
    "software_versions",
]
