"""Drawing the networks a fidelity run measures: distinct, feasible, spread over log params."""

from __future__ import annotations

import numpy as np
import pytest

from sqzdse.arch import count_params
from sqzdse.errors import SpaceError
from sqzdse.fidelity import draw_networks
from sqzdse.space import load_space, parse_space
from tests.search.helpers import TINY


def test_distinct_networks_spread_over_the_size_range():
    space = load_space("fashion")
    nets = draw_networks(space, count=24, num_classes=10, seed=0)
    params = [count_params(a) for a in nets]
    assert len(set(nets)) == 24 and params == sorted(params)
    steps = np.diff(np.log10(params))
    # Evenly spread: no gap in log10(params) more than 3x the mean gap (a random draw of the same
    # space would crowd around its most common sizes).
    assert steps.max() < 3 * steps.mean()
    assert draw_networks(space, count=24, num_classes=10, seed=0) == nets  # seeded
    assert draw_networks(space, count=24, num_classes=10, seed=1) != nets


def test_networks_over_a_budget_are_never_drawn():
    space = parse_space({**TINY, "constraints": {"params": 12000}})
    nets = draw_networks(space, count=4, num_classes=10, seed=0)
    assert all(count_params(a) <= 12000 for a in nets)


def test_a_space_too_small_says_how_many_it_holds():
    space = parse_space(TINY)  # 2 x 2 x 2 = 8 networks
    assert len(draw_networks(space, count=8, num_classes=10, seed=0)) == 8
    with pytest.raises(SpaceError, match="only 8 distinct feasible networks .* at most 8"):
        draw_networks(space, count=9, num_classes=10, seed=0)
    with pytest.raises(SpaceError, match="an integer >= 2, got 1"):
        draw_networks(space, count=1, num_classes=10, seed=0)
