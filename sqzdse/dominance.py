"""Pareto dominance on plain arrays: which points are on the front, their non-dominated ranks.

Pure numpy, so the search, its rungs, fidelity and the analysis share it without importing one
another. Points are (n, d) float arrays to minimize (`as_minimization` turns maximized columns);
a point dominates another when it is at least as good in every column and strictly better in one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_minimization(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return points * signs


def front_mask(points: np.ndarray) -> np.ndarray:
    """Non-dominated rows of an (n, d) array to minimize; rows with NaN are never on the front."""
    mask = np.zeros(len(points), dtype=bool)
    eligible = np.flatnonzero(~np.isnan(points).any(axis=1))
    if len(eligible) and points.shape[1] == 2:
        mask[eligible] = pareto_ranks(points[eligible]) == 0
    elif len(eligible):
        mask[eligible] = ~dominated(points[eligible])
    return mask


def dominated(points: np.ndarray) -> np.ndarray:
    """Whether each row (no NaN) is dominated by another. Rows are visited in lexicographic order,
    where a row comes after every row dominating it, and compared with the front found so far: a
    dominated row is dominated by a front row too (dominance is transitive)."""
    dominated = np.ones(len(points), dtype=bool)
    front = np.empty_like(points)
    size = 0
    for i in np.lexsort(points.T[::-1]):
        found = front[:size]
        if not np.any(np.all(found <= points[i], axis=1) & np.any(found < points[i], axis=1)):
            front[size] = points[i]
            size += 1
            dominated[i] = False
    return dominated


def pareto_ranks(points: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank of each row of an (n, d) array to minimize, without NaN.

    A row's rank is the length of the longest chain of rows dominating it: the front is rank 0.
    Rows are visited in lexicographic order, where a row always comes after every row dominating it.
    """
    order = np.lexsort(points.T[::-1])
    ranks = np.zeros(len(points), dtype=np.int64)
    if points.shape[1] == 2:
        _ranks_2d(points, order, ranks)
        return ranks
    ordered = points[order]
    ordered_ranks = np.zeros(len(points), dtype=np.int64)
    for k in range(1, len(ordered)):
        before = ordered[:k]
        dominating = np.all(before <= ordered[k], axis=1) & np.any(before < ordered[k], axis=1)
        if dominating.any():
            ordered_ranks[k] = ordered_ranks[:k][dominating].max() + 1
    ranks[order] = ordered_ranks
    return ranks


def _ranks_2d(points: np.ndarray, order: np.ndarray, ranks: np.ndarray) -> None:
    """Two metrics in O(n log n): in lexicographic order each front's last member has its largest x
    and smallest y so far, so front f dominates a row exactly when that member does, and if front
    f + 1 does, front f does too: a binary search finds the row's front."""
    last: list[tuple[float, float]] = []  # per front, its last member
    for i in order:
        x, y = points[i]
        low, high = 0, len(last)
        while low < high:
            middle = (low + high) // 2
            last_x, last_y = last[middle]
            if last_y < y or (last_y == y and last_x < x):  # dominated by front `middle`
                low = middle + 1
            else:
                high = middle
        ranks[i] = low
        if low == len(last):
            last.append((x, y))
        else:
            last[low] = (x, y)
