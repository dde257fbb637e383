"""The hypervolume view (`figures.hypervolume`)."""

from __future__ import annotations

import pytest

from sqzdse.dashboard import figures
from tests.dashboard.figures.conftest import PARAMS, TOP5
from tests.dashboard.figures.hand import study


def test_hypervolume_by_hand_with_a_shared_reference():
    info = figures.hypervolume_info([study()], x="params", y="top1")
    assert info.reference == (0.0, pytest.approx(550.0))  # 1.1 x the largest eligible params
    history = info.series["hand"]
    # Front (100, .5), (200, .7), (400, .9) up to reference x 550:
    # (550-100)*.5 + (550-200)*(.7-.5) + (550-400)*(.9-.7) = 225 + 70 + 30
    assert history["hypervolume"].iloc[-1] == pytest.approx(325.0)
    assert history["hypervolume"].is_monotonic_increasing
    other = study([dict(params=1000, top1=0.5)], name="other")
    shared = figures.hypervolume_info([study(), other], x="params", y="top1")
    assert shared.reference[1] == pytest.approx(1100.0)
    fig = figures.hypervolume_figure(shared)
    assert [t.name for t in fig.data] == ["hand", "other"]


def test_the_hypervolume_of_a_factory_study(factory):
    info = figures.hypervolume_info([factory], x="params", y="top5")
    ref = 1.1 * max(PARAMS.values())
    assert info.reference == (0.0, pytest.approx(ref))
    history = info.series["views"]
    # By hand, after each trial: 0 alone; 1 adds above it; 2 dominates 0; 3 failed adds nothing.
    after = [
        (ref - PARAMS[0]) * TOP5[0],
        (ref - PARAMS[0]) * TOP5[0] + (ref - PARAMS[1]) * (TOP5[1] - TOP5[0]),
        (ref - PARAMS[2]) * TOP5[2] + (ref - PARAMS[1]) * (TOP5[1] - TOP5[2]),
    ]
    assert list(history["hypervolume"]) == pytest.approx([*after, after[-1]])
    (line,) = figures.hypervolume_figure(info).data
    assert list(line.customdata) == [0, 1, 2, 3] and line.line.shape == "hv"
