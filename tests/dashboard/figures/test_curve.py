"""A trial's learning curve (`figures.curve`)."""

from __future__ import annotations

from sqzdse.dashboard import figures
from sqzdse.records import Epoch
from tests.dashboard.figures.conftest import CURVE


def test_curve_figure():
    curve = [
        Epoch(epoch=e, train_loss=1.0 / e, top1=0.5 + e / 10, top5=0.8, seconds=1)
        for e in (1, 2, 3)
    ]
    fig = figures.curve_figure(curve)
    assert [t.name for t in fig.data] == ["top-1", "top-5", "training loss"]
    assert list(fig.data[0].y) == [0.6, 0.7, 0.8]
    assert "No learning curve" in figures.curve_figure([]).layout.annotations[0].text


def test_the_learning_curve_of_a_factory_trial(factory):
    fig = figures.curve_figure(factory.records[0].curve)
    top1, top5, loss = fig.data
    assert list(top1.x) == [1, 2, 3] and list(top1.y) == [e.top1 for e in CURVE]
    assert list(top5.y) == [e.top5 for e in CURVE]
    assert loss.yaxis == "y2" and list(loss.y) == [e.train_loss for e in CURVE]
    assert fig.layout.yaxis.tickformat == ".0%"
