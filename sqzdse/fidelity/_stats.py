"""How well one ranking of networks agrees with another: pure functions, one value per network.

The instrument compares a proxy's accuracies with a reference's (longer training) over the same
networks. Every function takes sequences of equal length and returns plain floats; NaN means the
statistic is undefined for the data (fewer than two networks, or a constant ranking).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from sqzdse.dominance import front_mask

Values = Sequence[float] | np.ndarray  # one value per network
Statistic = Callable[[np.ndarray, np.ndarray], float]


def _pair(x: Values, y: Values) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"expected two sequences of one value per network, got shapes {a.shape} and {b.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("every value must be finite: leave out the networks that failed")
    return a, b


def _constant(values: np.ndarray) -> bool:
    return len(values) < 2 or bool(np.all(values == values[0]))


def kendall_tau(x: Values, y: Values) -> float:
    """Kendall's tau-b (scipy's default, which accounts for ties), NaN if undefined."""
    a, b = _pair(x, y)
    if _constant(a) or _constant(b):
        return math.nan
    return float(stats.kendalltau(a, b).statistic)


def kendall_tau_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of every row pair of two (rows, networks) arrays: (concordant - discordant)
    pairs over the square root of the pairs untied in x times those untied in y, as scipy; NaN for a
    row where either side is constant."""
    i, j = np.triu_indices(x.shape[1], k=1)
    dx, dy = np.sign(x[:, i] - x[:, j]), np.sign(y[:, i] - y[:, j])
    untied = np.count_nonzero(dx, axis=1) * np.count_nonzero(dy, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (dx * dy).sum(axis=1) / np.sqrt(untied)
    return np.where(untied > 0, np.clip(tau, -1.0, 1.0), np.nan)


def spearman(x: Values, y: Values) -> float:
    """Spearman's rank correlation (average ranks for ties), NaN if undefined."""
    a, b = _pair(x, y)
    if _constant(a) or _constant(b):
        return math.nan
    return float(stats.spearmanr(a, b).statistic)


def bootstrap_interval(
    x: Values,
    y: Values,
    statistic: Statistic = kendall_tau,
    *,
    level: float = 0.9,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """The central `level` interval of `statistic` over networks drawn with replacement (pairs kept
    together), seeded. Resamples where the statistic is undefined are left out; (NaN, NaN) when
    none is defined."""
    a, b = _pair(x, y)
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(a), size=(resamples, len(a)))
    if statistic is kendall_tau:  # the common case, all resamples at once (about 50x faster)
        values = kendall_tau_rows(a[draws], b[draws])
    else:
        values = np.array([statistic(a[d], b[d]) for d in draws])
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def size_residuals(accuracy: Values, params: Values) -> np.ndarray:
    """What is left of `accuracy` once a straight line in log10(params) is taken out (least
    squares): the part of a ranking that the parameter count cannot explain."""
    acc, size = _pair(accuracy, params)
    if (size <= 0).any():
        raise ValueError("parameter counts must be positive")
    design = np.column_stack([np.ones(len(size)), np.log10(size)])
    coefficients, *_ = np.linalg.lstsq(design, acc, rcond=None)
    residuals = acc - design @ coefficients
    # Round away the fit's floating-point dust, so that equal residuals stay tied (tau-b counts
    # ties) and an exact fit reads as no residual at all.
    scale = max(float(np.abs(acc).max()), 1.0)
    return np.round(residuals / scale, 12) * scale + 0.0


def within_size_tau(proxy: Values, reference: Values, params: Values) -> float:
    """Kendall's tau-b between the proxy's and the reference's accuracy residuals on log10(params)
    (`size_residuals`): how well the proxy ranks networks beyond what their size already says. NaN
    when size explains one of the two rankings entirely."""
    return kendall_tau(size_residuals(proxy, params), size_residuals(reference, params))


def seed_to_seed_tau(by_seed: Sequence[Values]) -> float:
    """The mean tau-b over every pair of seeds (rows: seeds, columns: networks): how well a proxy
    agrees with itself, the ceiling of how well it can agree with anything. NaN for one seed."""
    rows = [np.asarray(row, dtype=float) for row in by_seed]
    taus = [kendall_tau(a, b) for a, b in itertools.combinations(rows, 2)]
    defined = [t for t in taus if math.isfinite(t)]
    return float(np.mean(defined)) if defined else math.nan


def front_recall(params: Values, proxy: Values, reference: Values) -> float:
    """The share of the reference's Pareto front (fewer params, higher accuracy) that is also on
    the proxy's front: 1.0 when the proxy finds every network the reference would keep."""
    size, by_proxy = _pair(params, proxy)
    _, by_reference = _pair(size, reference)
    if not len(size):
        return math.nan
    reference_front = front_mask(np.column_stack([size, -by_reference]))
    proxy_front = front_mask(np.column_stack([size, -by_proxy]))
    return float((reference_front & proxy_front).sum() / reference_front.sum())
