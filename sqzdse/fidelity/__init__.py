"""Proxy fidelity: how well a cheap proxy training ranks networks against a longer reference.

So far the statistics (`_stats`, pure functions on one value per network); the instrument that
draws networks, trains them and reports ([fidelity] issue, section 2) builds on them.
"""

from sqzdse.fidelity._stats import (
    bootstrap_interval,
    front_recall,
    kendall_tau,
    seed_to_seed_tau,
    size_residuals,
    spearman,
    within_size_tau,
)

__all__ = [
    "bootstrap_interval",
    "front_recall",
    "kendall_tau",
    "seed_to_seed_tau",
    "size_residuals",
    "spearman",
    "within_size_tau",
]
