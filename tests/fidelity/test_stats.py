"""The fidelity statistics on hand-computed cases, and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sqzdse.fidelity import (
    bootstrap_interval,
    front_recall,
    kendall_tau,
    seed_to_seed_tau,
    size_residuals,
    spearman,
    within_size_tau,
)


def test_perfect_reversed_and_undefined_orders():
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert spearman([1, 2, 3, 4], [1, 4, 9, 16]) == 1.0
    assert math.isnan(kendall_tau([1, 2, 3], [5, 5, 5]))  # a constant ranking says nothing
    assert math.isnan(kendall_tau([1], [2]))


def test_tau_b_with_ties_by_hand():
    # x = [1, 2, 2, 3], y = [1, 3, 2, 4]. Of the 6 pairs, 5 are concordant, 0 discordant and 1 is
    # tied in x only: tau-b = (5 - 0) / sqrt((6 - 1) * (6 - 0)) = 5 / sqrt(30).
    assert kendall_tau([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(5 / math.sqrt(30))
    # One discordant pair among 6, no ties: (5 - 1) / 6.
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)


def test_against_scipy_on_random_data_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 6, size=15).astype(float)
        y = x + rng.integers(-3, 4, size=15)
        assert kendall_tau(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one value per network"):
        kendall_tau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        kendall_tau([1, 2, math.nan], [1, 2, 3])
    with pytest.raises(ValueError, match="positive"):
        size_residuals([0.5, 0.6], [0, 10])
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval([1, 2, 3], [1, 2, 3], level=1.5)


def test_bootstrap_interval_is_seeded_and_brackets_the_value():
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    y = x + rng.normal(scale=0.8, size=30)
    low, high = bootstrap_interval(x, y, seed=3)
    assert (low, high) == bootstrap_interval(x, y, seed=3)
    assert low < kendall_tau(x, y) < high and low >= -1 and high <= 1
    assert bootstrap_interval([1, 2, 3, 4], [1, 2, 3, 4]) == (1.0, 1.0)


PARAMS = [1e3, 1e4, 1e5, 1e6]  # log10: 3, 4, 5, 6


def test_within_size_when_size_explains_everything():
    # Both accuracies are exact lines in log10(params): the raw rankings agree perfectly (as do the
    # parameter counts), and nothing is left beyond size to rank by.
    proxy = [0.1 * math.log10(p) for p in PARAMS]
    reference = [0.2 * math.log10(p) + 0.05 for p in PARAMS]
    assert kendall_tau(proxy, reference) == 1.0 and kendall_tau(PARAMS, reference) == 1.0
    assert not size_residuals(proxy, PARAMS).any()
    assert math.isnan(within_size_tau(proxy, reference, PARAMS))


def test_within_size_ranks_what_size_leaves():
    # Residual patterns orthogonal to [1, 1, 1, 1] and [3, 4, 5, 6] survive the regression exactly.
    r = np.array([1.0, -1.0, -1.0, 1.0])
    p = np.array([1.0, -2.0, 1.0, 0.0])
    logs = np.log10(PARAMS)
    reference, proxy = 0.3 * logs + 0.01 * r, 0.2 * logs + 0.01 * p
    np.testing.assert_allclose(size_residuals(reference, PARAMS), 0.01 * r, atol=1e-12)
    # tau-b(p, r) by hand: of the 6 pairs, (0,1) and (1,3) are concordant, (2,3) discordant, (0,3)
    # and (1,2) tied in r only, (0,2) tied in p only: (2 - 1) / sqrt((6 - 1) * (6 - 2)).
    assert within_size_tau(proxy, reference, PARAMS) == pytest.approx(1 / math.sqrt(20))
    assert stats.kendalltau(p, r).statistic == pytest.approx(1 / math.sqrt(20))
    # The raw accuracies are dominated by size and agree perfectly; beyond size they do not.
    assert kendall_tau(proxy, reference) == 1.0 and within_size_tau(proxy, reference, PARAMS) < 1


def test_seed_to_seed_tau_is_the_mean_over_pairs_of_seeds():
    a, b, c = [1, 2, 3, 4], [1, 2, 3, 4], [4, 3, 2, 1]
    assert seed_to_seed_tau([a, b, c]) == pytest.approx((1 - 1 - 1) / 3)
    assert math.isnan(seed_to_seed_tau([a]))


def test_front_recall_by_hand():
    params = [100, 200, 300, 400]
    reference = [0.5, 0.7, 0.6, 0.9]  # its front: 0, 1, 3 (2 is beaten by 1)
    assert front_recall(params, reference, reference) == 1.0
    proxy = [0.5, 0.4, 0.6, 0.9]  # its front: 0, 2, 3; shares 0 and 3 of the reference's three
    assert front_recall(params, proxy, reference) == pytest.approx(2 / 3)
    assert math.isnan(front_recall([], [], []))


def test_the_row_wise_tau_equals_scipys_on_resamples_with_ties():
    from sqzdse.fidelity._stats import kendall_tau_rows

    rng = np.random.default_rng(4)
    x = np.round(rng.normal(size=(200, 12)), 1)  # rounded: many ties
    y = np.round(x + rng.normal(scale=0.7, size=(200, 12)), 1)
    x[0] = 1.0  # a constant row: undefined
    fast = kendall_tau_rows(x, y)
    slow = np.array([kendall_tau(a, b) for a, b in zip(x, y)])
    assert np.isnan(fast[0]) and np.isnan(slow[0])
    assert np.allclose(fast[1:], slow[1:], atol=1e-12)
