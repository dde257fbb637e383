"""The main view (`figures.pareto`): trials at (cost, accuracy), each study's Pareto front as a
step line, what is left out and why, colours, hovers, empty states."""

from __future__ import annotations

import itertools
import random

import pytest

from sqzdse.dashboard import figures
from tests.dashboard.figures.conftest import FRONT, PARAMS, TOP5
from tests.dashboard.figures.hand import FRONTS, HAND, PLOTTED, study, trace_numbers

# ---------------------------------------------------------------------------- the Pareto front


@pytest.mark.parametrize(("x", "y"), list(FRONTS))
def test_front_membership_by_hand(x, y):
    info = figures.pareto_info([study()], x=x, y=y)
    on_front = sorted(info.points.loc[info.points["on_front"], "number"])
    assert on_front == FRONTS[x, y]
    assert sorted(info.points["number"]) == PLOTTED[y]
    front = info.fronts["hand"]
    assert list(front["x"]) == sorted(front["x"])  # drawn left to right, as a staircase


def test_failed_pruned_and_running_trials_are_counted_not_drawn():
    info = figures.pareto_info([study()], x="params", y="top1")
    assert dict(info.left_out["hand"]) == {
        "failed": 1,
        "infeasible (not trained)": 1,
        "pruned": 1,
        "running": 1,
        "without top1": 1,
    }
    fig = figures.pareto_figure(info)
    drawn = set(trace_numbers(fig, "trials")) | set(trace_numbers(fig, "front"))
    assert drawn == set(PLOTTED["top1"])
    assert not drawn & {6, 7, 8, 9, 10}
    line = figures.summary_lines(info)[0]
    assert "12 trials, 7 plotted, 4 on the Pareto front" in line
    assert "1 failed" in line and "1 infeasible (not trained)" in line and "1 running" in line


def brute_force_front(points: list[tuple[float, float] | None]) -> list[int]:
    """Indices of the non-dominated points (y up, x down); None never counts."""

    def dominates(a, b):
        return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])

    return [
        i
        for i, p in enumerate(points)
        if p is not None and not any(q is not None and dominates(q, p) for q in points)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_front_matches_brute_force_on_random_trials_with_ties(seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(60):  # few distinct values, so ties in x, in y and in both are common
        state = rng.choice(["COMPLETE"] * 6 + ["FAIL", "PRUNED", "RUNNING"])
        rows.append(
            dict(
                params=rng.choice([100, 200, 300, 400]),
                top1=rng.choice([0.5, 0.6, 0.7]),
                state=state,
            )
        )
    info = figures.pareto_info([study(rows)], x="params", y="top1")
    points = [(r["params"], r["top1"]) if r["state"] == "COMPLETE" else None for r in rows]
    assert sorted(info.fronts["hand"]["number"]) == brute_force_front(points)


def test_front_trace_is_a_step_line_over_the_front_in_x_order():
    fig = figures.pareto_figure(figures.pareto_info([study()], x="params", y="top1"))
    (front,) = [t for t in fig.data if (t.meta or {}).get("role") == "front"]
    assert front.line.shape == "hv"
    assert [int(c[1]) for c in front.customdata] == [0, 1, 2, 5]
    assert list(front.x) == [100, 200, 200, 400] and list(front.y) == [0.5, 0.7, 0.7, 0.9]
    assert fig.layout.xaxis.type == "log"
    assert front.name == "Pareto front (4)"


def test_switching_axes_redraws_the_front_of_the_metrics_shown():
    for (x, y), expected in FRONTS.items():
        fig = figures.pareto_figure(figures.pareto_info([study()], x=x, y=y))
        assert sorted(trace_numbers(fig, "front")) == expected
        # A hand-made study records no splits: a legacy study, measured on the test images.
        assert fig.layout.yaxis.title.text == (
            f"{figures.Y_METRICS[y]} (validation split, legacy: official test images)"
        )
        assert fig.layout.xaxis.title.text.startswith(figures.X_METRICS[x])


def test_bad_axes_and_colour_are_refused():
    with pytest.raises(ValueError, match="`x` must be one of"):
        figures.pareto_info([study()], x="top1", y="top5")
    with pytest.raises(ValueError, match="`color` must be one of"):
        figures.pareto_info([study()], x="params", y="top5", color="lr")


def test_colour_by_category_and_by_a_continuous_value():
    info = figures.pareto_info([study()], x="params", y="top1", color="bypass")
    fig = figures.pareto_figure(info)
    names = [t.name for t in fig.data if (t.meta or {}).get("role") == "trials"]
    assert names == ["bypass complex", "bypass none", "bypass simple"]
    many = [dict(params=100 + i, top1=0.5, sr=0.01 * (i + 1)) for i in range(20)]
    fig = figures.pareto_figure(
        figures.pareto_info([study(many)], x="params", y="top1", color="sr")
    )
    (trials,) = [t for t in fig.data if (t.meta or {}).get("role") == "trials"]
    assert trials.marker.showscale and len(trials.x) == 20


def test_hover_names_the_configuration():
    info = figures.pareto_info([study()], x="params", y="top1")
    text = info.points.loc[info.points["number"] == 5, "hover"].iloc[0]
    for part in (
        "hand #5",
        "base_e 128",
        "pct_3x3 0.5",
        "sr 0.125",
        "bypass simple",
        "pools after conv1,fire3,fire5",
        "parameters 400",
        "top-1 accuracy 90.00%",
    ):
        assert part in text


def test_several_studies_each_get_their_front_and_symbol():
    other = study([dict(params=100, top1=0.6), dict(params=300, top1=0.55)], name="other")
    info = figures.pareto_info([study(), other], x="params", y="top1", color="study")
    assert sorted(info.fronts["other"]["number"]) == [0]
    assert sorted(info.fronts["hand"]["number"]) == [0, 1, 2, 5]
    fig = figures.pareto_figure(info)
    fronts = [t for t in fig.data if (t.meta or {}).get("role") == "front"]
    assert [t.meta["study"] for t in fronts] == ["hand", "other"]
    assert fronts[0].marker.symbol != fronts[1].marker.symbol
    assert len(figures.summary_lines(info)) >= 2


# ---------------------------------------------------------------------------- empty states


def test_empty_study_says_how_to_start_a_search():
    info = figures.pareto_info([study([])], x="params", y="top5")
    assert info.is_empty
    assert "sqzdse search --space micro.yaml" in figures.empty_message(info)
    fig = figures.pareto_figure(info)
    assert "sqzdse search --space micro.yaml" in fig.layout.annotations[0].text
    none = figures.empty_message(figures.pareto_info([], x="params", y="top5"))
    assert "No study selected" in none and "sqzdse search --space micro.yaml" in none


def test_only_failed_trials_say_nothing_finished_yet():
    info = figures.pareto_info([study([HAND[6], HAND[7], HAND[9]])], x="params", y="top1")
    assert info.is_empty and "No finished trial" in figures.empty_message(info)
    assert figures.hypervolume_info([study([HAND[6]])], x="params", y="top1").reference is None


def test_pairs_of_axes_are_all_drawable():
    for x, y in itertools.product(figures.X_METRICS, figures.Y_METRICS):
        fig = figures.pareto_figure(figures.pareto_info([study()], x=x, y=y))
        assert trace_numbers(fig, "front")


# ---------------------------------------------------------------------------- a factory study


def test_the_main_view_of_a_factory_study(factory):
    info = figures.pareto_info([factory], x="params", y="top5")
    assert sorted(info.points["number"]) == [0, 1, 2]
    assert dict(zip(info.points["number"], info.points["x"])) == PARAMS
    assert dict(zip(info.points["number"], info.points["y"])) == TOP5
    assert dict(info.left_out["views"]) == {"failed": 1}
    fig = figures.pareto_figure(info)
    (front,) = [t for t in fig.data if (t.meta or {}).get("role") == "front"]
    assert [int(c[1]) for c in front.customdata] == sorted(FRONT, key=PARAMS.get)
    assert list(front.x) == sorted(PARAMS[n] for n in FRONT)
    assert sorted(trace_numbers(fig, "trials")) == [0, 1, 2]
    assert "views: 4 trials, 3 plotted, 2 on the Pareto front" in figures.summary_lines(info)[0]
