"""Proxy fidelity: how well a cheap proxy training ranks networks against a longer reference.

So far: which networks to measure (`_draw`: distinct, feasible, spread over log params) and the
statistics (`_stats`, pure functions on one value per network); the instrument that trains them and
reports ([fidelity] issue, section 2) builds on these.
"""

from sqzdse.fidelity._draw import CANDIDATES_PER_NETWORK, draw_networks
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
    "CANDIDATES_PER_NETWORK",
    "bootstrap_interval",
    "draw_networks",
    "front_recall",
    "kendall_tau",
    "seed_to_seed_tau",
    "size_residuals",
    "spearman",
    "within_size_tau",
]
