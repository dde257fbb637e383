"""Successive-halving rungs: where they sit and which results go on, by hand and at random."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sqzdse.search._rungs import crowding_distance, decide
from sqzdse.space import rung_epochs

UP_DOWN = ("maximize", "minimize")  # (top-1, params)


def test_rungs_sit_at_min_epochs_times_powers_of_eta_below_the_budget():
    assert rung_epochs(27, min_epochs=1, eta=3) == (1, 3, 9)
    assert rung_epochs(10, min_epochs=1, eta=3) == (1, 3, 9)
    assert rung_epochs(8, min_epochs=2, eta=2) == (2, 4)
    assert rung_epochs(3, min_epochs=3, eta=2) == ()  # nothing to stop at
    with pytest.raises(ValueError, match="`eta` must be an integer >= 2, got 1"):
        rung_epochs(9, min_epochs=1, eta=1)
    with pytest.raises(ValueError, match="`min_epochs` must be an integer >= 1, got 0"):
        rung_epochs(9, min_epochs=0, eta=2)


def test_while_fewer_than_eta_are_recorded_only_domination_stops():
    assert decide((0.5, 900), [], directions=UP_DOWN, eta=3).continues
    recorded = [(0.9, 100), (0.7, 50)]
    stopped = decide((0.8, 200), recorded, directions=UP_DOWN, eta=3)
    assert not stopped.continues and "dominated by a result recorded" in stopped.reason
    assert decide((0.8, 60), recorded, directions=UP_DOWN, eta=3).continues  # a trade-off


def test_by_fronts_when_eta_or_more_are_recorded():
    recorded = [(0.9, 100), (0.8, 200), (0.7, 300)]  # three fronts, best first
    best = decide((0.95, 50), recorded, directions=UP_DOWN, eta=2)
    assert (best.continues, best.position, best.kept, best.n) == (True, 0, 2, 4)
    worst = decide((0.6, 400), recorded, directions=UP_DOWN, eta=2)
    assert (worst.continues, worst.position) == (False, 3)
    second = decide((0.85, 150), recorded, directions=UP_DOWN, eta=2)  # front 1 with (0.8, 200)
    # Only (0.9, 100) dominates the newcomer, which dominates the other two: front 1, 2nd of 4.
    assert (second.continues, second.position) == (True, 1)
    assert "ranked 2 of 4" in second.reason


def test_crowding_distance_decides_inside_one_front_by_hand():
    # Five trade-offs on one front; as minimised, -top1 sorted: 100, 30, new, 20, 10 (params).
    recorded = [(0.5, 10), (0.6, 20), (0.7, 30), (0.9, 100)]
    # Crowding of (0.65, 25): (0.1 / 0.4) + (10 / 90) = 0.361; (0.7, 30): 0.625 + 0.833; (0.6, 20):
    # 0.375 + 0.167; the two ends infinite. The newcomer is 5th of 5, the top ceil(5/2) = 3 go on.
    crowded = decide((0.65, 25), recorded, directions=UP_DOWN, eta=2)
    assert (crowded.continues, crowded.position, crowded.kept) == (False, 4, 3)
    # (0.8, 60) fills the widest gap: 0.5 + 70/90 = 1.278, the largest finite distance: 3rd.
    lonely = decide((0.8, 60), recorded, directions=UP_DOWN, eta=2)
    assert (lonely.continues, lonely.position) == (True, 2)
    distances = crowding_distance(np.array([[-0.9, 100], [-0.7, 30], [-0.65, 25], [-0.6, 20]]))
    assert distances[0] == distances[3] == math.inf
    assert distances[1] == pytest.approx(0.25 / 0.3 + 75 / 80)  # neighbours -0.9, -0.65; 25, 100


def test_three_objectives_mixed_directions_and_identical_results():
    directions = ("maximize", "minimize", "minimize")  # top-1, params, MACs
    recorded = [(0.9, 100, 1000), (0.8, 50, 2000)]
    # One front of three; the newcomer sits between the two on every objective: crowding 1 + 1 + 1
    # against two infinite ends, so it is 3rd of 3 and the top ceil(3/2) = 2 go on.
    middle = decide((0.85, 60, 1500), recorded, directions=directions, eta=2)
    assert (middle.continues, middle.position, middle.kept) == (False, 2, 2)
    end = decide(
        (0.95, 120, 1500), recorded, directions=directions, eta=2
    )  # the best top-1: an end
    assert end.continues and end.position == 0
    assert not decide((0.8, 100, 2000), recorded, directions=directions, eta=2).continues
    same = [(0.8, 100)] * 3
    twin = decide((0.8, 100), same, directions=UP_DOWN, eta=3)
    assert twin.continues and twin.position == 0  # identical: equal crowding, the newcomer's tie


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="finite"):
        decide((math.nan, 1), [(0.5, 2)], directions=UP_DOWN, eta=2)
    with pytest.raises(ValueError, match="`eta` must be an integer >= 2"):
        decide((0.5, 1), [], directions=UP_DOWN, eta=1)


@pytest.mark.parametrize("seed", range(20))
def test_random_rungs_keep_every_dominating_result_and_stop_every_dominated_one(seed):
    rng = np.random.default_rng(seed)
    objectives = int(rng.integers(2, 4))
    directions = tuple(rng.choice(["maximize", "minimize"], size=objectives))
    eta = int(rng.integers(2, 5))
    recorded = rng.normal(size=(int(rng.integers(0, 30)), objectives))
    signs = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    if len(recorded):
        better = recorded.max(axis=0) * (signs > 0) + recorded.min(axis=0) * (signs < 0)
        assert decide(better + signs, recorded, directions=directions, eta=eta).continues
        worse = recorded.min(axis=0) * (signs > 0) + recorded.max(axis=0) * (signs < 0)
        verdict = decide(worse - signs, recorded, directions=directions, eta=eta)
        assert not verdict.continues  # dominated by every one: stops at any n (>= 1 recorded)


@pytest.mark.parametrize("eta", [2, 3, 4])
def test_over_many_arrivals_about_one_in_eta_goes_on(eta):
    rng = np.random.default_rng(eta)
    recorded, continued = [], 0
    arrivals = 600
    for _ in range(arrivals):
        accuracy = rng.uniform(0.5, 0.95)
        params = 10 ** rng.uniform(4, 6.5)
        if decide((accuracy, params), recorded, directions=UP_DOWN, eta=eta).continues:
            continued += 1
        recorded.append((accuracy, params))
    assert abs(continued / arrivals - 1 / eta) < 0.25 / eta
