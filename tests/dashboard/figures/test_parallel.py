"""The parallel-coordinates view (`figures.parallel`)."""

from __future__ import annotations

from sqzdse import analysis
from sqzdse.dashboard import figures
from tests.dashboard.figures.conftest import FRONT, PARAMS
from tests.dashboard.figures.hand import FRONTS, PLOTTED, study


def test_parallel_coordinates_rank_the_eligible_trials():
    info = figures.parallel_info(study(), x="params", y="top1")
    assert len(info.rank) == len(PLOTTED["top1"])
    assert [d["label"] for d in info.dimensions] == [
        "bypass",
        "params",
        "top1",
    ]  # only bypass varies
    ranks = analysis.pareto_rank(study().frame, {"top1": "maximize", "params": "minimize"})
    assert sorted(ranks.index[ranks == 0]) == FRONTS["params", "top1"]
    assert list(info.rank) == list(ranks.dropna().astype(int))
    fig = figures.parallel_figure(info)
    assert fig.data[0].type == "parcoords"


def test_the_parallel_coordinates_of_a_factory_study(factory):
    info = figures.parallel_info(factory, x="params", y="top5")
    columns = {d["label"]: list(d["values"]) for d in info.dimensions}
    # Only the design choices that vary among the eligible trials get an axis, then the metrics.
    assert list(columns) == ["base_e", "incr_e", "sr", "params", "top5"]
    assert columns["params"] == [PARAMS[n] for n in (0, 1, 2)]
    assert columns["sr"] == [0.125, 0.5, 0.125]
    assert [n for n, rank in zip((0, 1, 2), info.rank) if rank == 0] == FRONT
    (axes,) = figures.parallel_figure(info).data
    assert axes.type == "parcoords" and list(axes.line.color) == list(info.rank)
