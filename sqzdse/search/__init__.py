"""The search: a space's trials run against a study, by one process or several workers.

    setup = make_setup(load_space("micro.yaml"))
    study = open_study(setup, storage=open_storage(url, mode="write"), study_name="micro")
    run_search(study, Objective(setup, n_trials=16))

`_setup` decides what a search measures and opens its study; `_objective` runs one trial;
`_halving` stops a trial at a rung of successive halving (`_rungs` decides); `_loop` runs trials
until the study holds enough; `_workers` starts several processes on one study.
"""

from sqzdse.search._loop import (
    DEFAULT_MAX_FAILURES,
    DEFAULT_MAX_INFEASIBLE,
    Progress,
    count_trials,
    run_search,
)
from sqzdse.search._objective import (
    FINISHED,
    UNDER_WAY,
    Interrupts,
    Objective,
    SurplusTrial,
    TrialFailed,
    constraint_violations,
    counted,
    over_budget,
    software_versions,
)
from sqzdse.search._setup import (
    SearchSetup,
    check_runnable,
    make_setup,
    open_study,
    sampler_seed,
)
from sqzdse.search._workers import (
    WORKERS_PER_GPU,
    resolve_workers,
    run_workers,
    threads_per_worker,
    worker_devices,
)

__all__ = [
    "DEFAULT_MAX_FAILURES",
    "DEFAULT_MAX_INFEASIBLE",
    "FINISHED",
    "Interrupts",
    "UNDER_WAY",
    "WORKERS_PER_GPU",
    "Objective",
    "Progress",
    "SearchSetup",
    "SurplusTrial",
    "TrialFailed",
    "check_runnable",
    "constraint_violations",
    "count_trials",
    "counted",
    "make_setup",
    "open_study",
    "over_budget",
    "resolve_workers",
    "run_search",
    "run_workers",
    "sampler_seed",
    "software_versions",
    "threads_per_worker",
    "worker_devices",
]
