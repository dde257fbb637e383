"""Proxy fidelity: how well a cheap proxy training ranks networks against a longer reference.

`_draw` picks the networks (distinct, feasible, spread over log params); `_plan` says which runs
measure them (the proxy's settings on K seeds, the reference's) and keys each run by what it
measures; `_store` keeps the runs in an Optuna study (claim, heartbeat, record; resumable and
shareable); `_runner` trains what is missing with progress lines; `_report` computes the
statistics (`_stats`, pure functions) and the verdict. `sqzdse fidelity` is the command;
`sqzdse dashboard` draws a stored study (its page /fidelity/<study>).
"""

from sqzdse.fidelity._draw import CANDIDATES_PER_NETWORK, draw_networks
from sqzdse.fidelity._instrument import make_plan, train_run
from sqzdse.fidelity._plan import Plan, Run, RunRole, reference_setting, run_key
from sqzdse.fidelity._report import SIGNALS, FidelityReport, build_report, format_report
from sqzdse.fidelity._stats import (
    bootstrap_interval,
    front_recall,
    kendall_tau,
    seed_to_seed_tau,
    size_residuals,
    spearman,
    within_size_tau,
)
from sqzdse.fidelity._store import finished_runs, is_fidelity_study, stored_plans

__all__ = [
    "SIGNALS",
    "CANDIDATES_PER_NETWORK",
    "Plan",
    "FidelityReport",
    "RunRole",
    "Run",
    "bootstrap_interval",
    "build_report",
    "draw_networks",
    "finished_runs",
    "format_report",
    "front_recall",
    "is_fidelity_study",
    "kendall_tau",
    "make_plan",
    "reference_setting",
    "run_key",
    "seed_to_seed_tau",
    "size_residuals",
    "spearman",
    "stored_plans",
    "train_run",
    "within_size_tau",
]
