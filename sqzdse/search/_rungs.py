"""Multi-objective successive halving: where the rungs sit, and whether a result at a rung goes on.

Pure functions, called by `_halving` inside each trial's training. A result is one vector per
trial: its accuracy at the rung's epoch and the exact cost objectives, each with its direction. At
a rung, a result is ranked among every result recorded there (itself included): non-dominated
sorting, then NSGA-II crowding distance inside a front, larger first. It continues when it is within
the top ceil(n / eta) of the n results; while fewer than eta results were recorded before it, it
continues exactly when none of them dominates it. A tie in the ranking (same front, same crowding
distance) goes to the newcomer, so identical results never stop each other by arrival order alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sqzdse.dominance import as_minimization, pareto_ranks


@dataclass(frozen=True)
class Decision:
    """Whether a result goes on past a rung, and why (stored on a stopped trial)."""

    continues: bool
    position: int  # 0-based place of the result in the ranking of the n results
    kept: int  # how many of the n results go on: ceil(n / eta), or all undominated while n <= eta
    n: int  # results at the rung, the newcomer included
    reason: str


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row of an (n, d) array (one front): per objective, the
    gap between a row's neighbours in sorted order over the objective's range, summed; the rows
    at either end of an objective get infinity. An objective on which every row is equal adds
    nothing (no row is its end), so identical rows get equal distances."""
    n, d = points.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(d):
        order = np.argsort(points[:, k], kind="stable")
        values = points[order, k]
        span = values[-1] - values[0]
        if span > 0:
            distance[order[0]] = distance[order[-1]] = np.inf
            distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance


def decide(
    result: Sequence[float],
    recorded: Sequence[Sequence[float]],
    *,
    directions: Sequence[str],
    eta: int,
) -> Decision:
    """Whether `result` continues past a rung where `recorded` results are already (module doc)."""
    if not isinstance(eta, int) or isinstance(eta, bool) or eta < 2:
        raise ValueError(f"`eta` must be an integer >= 2, got {eta!r}")
    points = np.asarray([*recorded, result], dtype=float).reshape(-1, len(directions))
    if not np.isfinite(points).all():
        raise ValueError("every result at a rung must be finite")
    points = as_minimization(points, list(directions))
    n, new = len(points), len(points) - 1
    if new < eta:
        before = points[:new]
        dominated = bool(
            np.any(np.all(before <= points[new], axis=1) & np.any(before < points[new], axis=1))
        )
        ranks = pareto_ranks(points)
        return Decision(
            continues=not dominated,
            position=int(np.sum(ranks < ranks[new])),
            kept=int(np.sum(ranks == 0)),
            n=n,
            reason=(
                "dominated by a result recorded at this rung"
                if dominated
                else "no recorded result dominates it"
            )
            + f" ({new} recorded, fewer than eta={eta})",
        )
    ranks = pareto_ranks(points)
    crowding = np.zeros(n)
    for front in np.unique(ranks):
        members = np.flatnonzero(ranks == front)
        crowding[members] = crowding_distance(points[members])
    newcomer_first = np.arange(n) != new  # False sorts first: the newcomer wins ties
    order = np.lexsort((newcomer_first, -crowding, ranks))
    position = int(np.flatnonzero(order == new)[0])
    kept = math.ceil(n / eta)
    continues = position < kept
    return Decision(
        continues=continues,
        position=position,
        kept=kept,
        n=n,
        reason=(
            f"ranked {position + 1} of {n} at this rung (front {int(ranks[new]) + 1}); the top "
            f"{kept} (n / eta, eta={eta}) go on"
        ),
    )
