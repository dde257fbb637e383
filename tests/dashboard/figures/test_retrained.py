"""The networks `sqzdse retrain` trained, in the dashboard: retrained trials as a second series at
their mean test accuracy with the seed spread, retrained SqueezeNet baselines at their exact cost,
the split each accuracy is from in the axis titles, and the retraining in the trial's details.

Studies are real SQLite studies from the factory, read through a StudySource; the retraining
blocks are written on them as `sqzdse retrain` writes them (`retrained:<trial>`,
`retrained_baseline:<preset>`)."""

from __future__ import annotations

import statistics

import optuna
import pytest

from sqzdse.dashboard import callbacks, details, figures, layout
from sqzdse.dashboard.source import StudySource
from sqzdse.records import Retraining, analytic_metrics
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table.DataTable will be removed:DeprecationWarning"
)

SPLITS = {"convention": "official-test", "val_fraction": 1 / 6, "train": 50_000, "val": 10_000}
V10, V11 = 740_554, 727_626  # parameters at 10 classes (Table 1's, less 990 classes' conv10)
V10_MACS, V11_MACS = 9_148_448, 2_995_904  # at 32x32
ARCHS = [small_arch(), small_arch(sr=0.5), small_arch(base_e=64, incr_e=64)]


def block(val, test, *, resolution: int = 32) -> dict:
    """A retraining block as `sqzdse.retrain.retrain_block` writes it, for the seeds' validation
    and test top-1 (top-5: 0.1 more)."""
    seeds = [
        {
            "seed": seed,
            "top1": v,
            "top5": v + 0.1,
            "test_top1": t,
            "test_top5": t + 0.1,
            "train_seconds": 10.0,
            "device": "cpu",
            "curve": [],
        }
        for seed, v, t in zip(range(len(val)), val, test)
    ]
    return {
        "settings": {"dataset": "digits", "resolution": resolution, "epochs": 30, "seed": 0},
        "splits": {**SPLITS, "test": 1_797},
        "seeds": seeds,
        "top1": statistics.fmean(val),
        "top5": statistics.fmean(v + 0.1 for v in val),
        "test_top1": statistics.fmean(test),
        "test_top5": statistics.fmean(t + 0.1 for t in test),
        "test_top1_by_seed": list(test),
        "train_seconds": 10.0 * len(val),
        "device": "cpu",
        "weights": None,
        "finished": "2025-01-01T00:00:00",
    }


TRIAL0 = block([0.60, 0.62, 0.64], [0.58, 0.61, 0.62])  # spread (0.62 - 0.58) / 2 = 0.02
TRIAL1 = block([0.80, 0.81], [0.70, 0.76])  # spread 0.03
BASELINES = {"v1.0": block([0.9, 0.9], [0.84, 0.88]), "v1.1": block([0.89], [0.85])}


def make_study(url: str, name: str, *, splits=SPLITS, retrained=True, baselines=BASELINES):
    """Trials 0-2 trained (0 and 1 retrained), 3 reusing 1's result, 4 failed."""
    study = create_study(url, study_name=name)
    for arch, top1 in zip(ARCHS, (0.5, 0.7, 0.6)):
        add_trial(study, arch=arch, top1=top1, top5=top1 + 0.2)
    add_trial(study, arch=ARCHS[1], status="reused", reused_from=1, top1=0.7, top5=0.9)
    add_trial(study, status="failed")
    if splits is not None:
        study.set_user_attr("splits", splits)
    if retrained:
        study.set_user_attr("retrained:0", TRIAL0)
        study.set_user_attr("retrained:1", TRIAL1)
    for preset, value in baselines.items():
        study.set_user_attr(f"retrained_baseline:{preset}", value)
    return study


@pytest.fixture
def url(tmp_path) -> str:
    url = sqlite_url(tmp_path / "s.db")
    make_study(url, "new")
    make_study(url, "legacy", splits=None, retrained=False, baselines={})
    return url


@pytest.fixture
def source(url) -> StudySource:
    return StudySource(url)


def role(fig, name: str) -> list:
    return [t for t in fig.data if (t.meta or {}).get("role") == name]


# ---------------------------------------------------------------------------- the retrained series


def test_retrained_trials_are_a_series_at_their_mean_test_top1_with_the_seed_spread(source):
    info = figures.pareto_info([source.load("new")], x="params", y="top1")
    trials = [p for p in info.retrained if p.preset is None]
    # Trial 3 reused trial 1's result (and so its retraining): drawn once, as trial 1.
    assert [p.trial for p in trials] == [0, 1]
    assert [p.x for p in trials] == [analytic_metrics(a)["params"] for a in ARCHS[:2]]
    assert [p.y for p in trials] == [pytest.approx(0.60333333), pytest.approx(0.73)]
    assert [p.spread for p in trials] == [pytest.approx(0.02), pytest.approx(0.03)]
    assert trials[0].by_seed == (0.58, 0.61, 0.62) and trials[0].val == pytest.approx(0.62)

    fig = figures.pareto_figure(info)
    (series,) = role(fig, "retrained")
    assert list(series.x) == [p.x for p in trials] and list(series.y) == [p.y for p in trials]
    assert series.error_y.visible and list(series.error_y.array) == [p.spread for p in trials]
    assert [list(c) for c in series.customdata] == [["new", 0], ["new", 1]]  # clicks open it
    assert series.name == "retrained, test split (2)"
    hover = series.hovertext[0]
    assert "new #0" in hover and "retrained, test split" in hover
    assert "test top-1 60.33% ± 2.00% over 3 seeds (58.00%, 61.00%, 62.00%)" in hover
    assert "validation top-1 62.00%" in hover
    # The proxy's front is drawn as before.
    assert sorted(int(c[1]) for c in role(fig, "front")[0].customdata) == [1, 2, 3]


def test_retrained_baselines_are_points_at_their_exact_cost(source):
    info = figures.pareto_info([source.load("new")], x="params", y="top1")
    baselines = {p.preset: p for p in info.retrained if p.preset is not None}
    assert baselines["v1.0"].x == V10 and baselines["v1.1"].x == V11
    assert baselines["v1.0"].y == pytest.approx(0.86)
    assert baselines["v1.0"].spread == pytest.approx(0.02)
    assert baselines["v1.1"].spread == 0.0 and baselines["v1.1"].by_seed == (0.85,)

    fig = figures.pareto_figure(info)
    points = {t.meta["preset"]: t for t in role(fig, "retrained_baseline")}
    assert points["v1.0"].name == "SqueezeNet v1.0 (retrained)"
    assert list(points["v1.0"].x) == [V10] and list(points["v1.0"].y) == [pytest.approx(0.86)]
    assert list(points["v1.0"].error_y.array) == [pytest.approx(0.02)]
    assert points["v1.1"].marker.symbol != role(fig, "retrained")[0].marker.symbol
    # Nearly the same size: the higher one's label above it, the other's below; both at the
    # right of the plot, so both labels reach left, towards its middle, not off its edge.
    assert (points["v1.0"].textposition, points["v1.1"].textposition) == (
        "top left",
        "bottom left",
    )
    assert "retrained, test split" in points["v1.1"].hovertext[0]
    # Retrained, a baseline is no longer a size-only line of unknown accuracy.
    assert role(fig, "reference") == []
    lines = figures.summary_lines(info)
    assert "SqueezeNet v1.0 (retrained) in new: retrained test top-1 accuracy 86.00% ± 2.00%" in (
        "\n".join(lines)
    )
    assert not any("accuracy here is unknown" in line for line in lines)
    assert any("new: 2 retrained networks" in line for line in lines)


@pytest.mark.parametrize(
    ("x", "v10", "v11"),
    [
        ("macs", V10_MACS, V11_MACS),
        ("size_bytes_32bit", 4 * V10, 4 * V11),
        ("size_bytes_8bit", V10, V11),
    ],
)
def test_baselines_follow_the_x_metric(source, x, v10, v11):
    info = figures.pareto_info([source.load("new")], x=x, y="top1")
    assert {p.preset: p.x for p in info.retrained if p.preset} == {"v1.0": v10, "v1.1": v11}


def test_a_measured_x_has_retrained_trials_but_no_baselines(source):
    info = figures.pareto_info([source.load("new")], x="latency_ms", y="top1")
    assert [p.trial for p in info.retrained] == [0, 1]  # at their own measured latency
    assert info.notes[-1] == (
        "new: SqueezeNet v1.0 and v1.1 were retrained but are not drawn: latency in ms (batch 1, "
        "CPU) is not known from the architecture"
    )


def test_no_retrained_network_against_a_compressed_size(source):
    info = figures.pareto_info([source.load("new")], x="compressed_bytes", y="top1")
    assert info.retrained == ()
    assert "new: the retrained networks are not drawn against compressed size" in info.notes[-1]
    legacy = figures.pareto_info([source.load("legacy")], x="compressed_bytes", y="top1")
    assert not any("retrained" in note for note in legacy.notes)


def test_the_series_follows_top5_and_stays_off_where_it_would_not_compare(source):
    data = source.load("new")
    top5 = figures.pareto_info([data], x="params", y="top5")
    assert [p.y for p in top5.retrained if p.trial == 1] == [pytest.approx(0.83)]
    assert [p.spread for p in top5.retrained if p.trial == 1] == [pytest.approx(0.03)]
    assert {p.metric for p in top5.retrained} == {"retrained_test_top5"}
    # A compressed network's accuracy, or the test accuracy itself on y: no second series.
    for y in ("top1_compressed", "retrained_test_top1"):
        assert figures.pareto_info([data], x="params", y=y).retrained == ()
    own = figures.pareto_figure(figures.pareto_info([data], x="params", y="retrained_test_top1"))
    assert sorted(int(c[1]) for t in role(own, "trials") for c in t.customdata) == [0, 1, 3]


def test_nothing_retrained_draws_as_before(source):
    info = figures.pareto_info([source.load("legacy")], x="params", y="top1")
    assert info.retrained == ()
    fig = figures.pareto_figure(info)
    assert not role(fig, "retrained") and not role(fig, "retrained_baseline")
    assert {t.meta["preset"] for t in role(fig, "reference")} == {"v1.0", "v1.1"}


def test_several_studies_name_their_series(source):
    other = StudySource(source.url)
    info = figures.pareto_info([source.load("new"), other.load("legacy")], x="params", y="top1")
    fig = figures.pareto_figure(info)
    assert [t.name for t in role(fig, "retrained")] == ["retrained of new, test split (2)"]
    assert "SqueezeNet v1.0 (retrained) in new" in [t.name for t in role(fig, "retrained_baseline")]


# ---------------------------------------------------------------------------- split labels


def test_axis_titles_say_which_split(source):
    new, legacy = source.load("new"), source.load("legacy")
    assert new.splits == SPLITS and legacy.splits is None

    def title(datas, y):
        return figures.pareto_figure(figures.pareto_info(datas, x="params", y=y)).layout.yaxis.title

    assert title([new], "top1").text == "top-1 accuracy (validation split)"
    assert title([legacy], "top1").text == (
        "top-1 accuracy (validation split, legacy: official test images)"
    )
    assert title([new, legacy], "top5").text == (
        "top-5 accuracy (validation split, legacy in legacy: official test images)"
    )
    assert title([new], "retrained_top1").text == "retrained validation top-1 accuracy"
    assert title([new], "retrained_test_top1").text == "retrained test top-1 accuracy"
    assert "10,000 validation images" in new.validation_label
    assert "before the three splits" in legacy.validation_label


# ---------------------------------------------------------------------------- details


def test_details_show_validation_and_test_top1_per_seed(source):
    data = source.load("new")
    retrained = details.trial_retrained(data, 0)
    rows = dict(retrained.rows)
    assert rows["validation top-1, mean of 3 seeds"] == "62.00% ± 2.00%"
    assert rows["validation top-1 per seed"] == "60.00% · 62.00% · 64.00%"
    assert rows["test top-1, mean of 3 seeds"] == "60.33% ± 2.00%"
    assert rows["test top-1 per seed"] == "58.00% · 61.00% · 62.00%"
    assert retrained.settings == (
        "3 seeds (0, 1, 2) · 30 epochs · 50,000 train, 10,000 validation, 1,797 test images "
        "(official-test)"
    )
    assert details.trial_retrained(data, 3) == details.trial_retrained(data, 1)  # the twin's
    assert details.trial_retrained(data, 2) is None
    single = details.retrained_detail(Retraining.from_dict(BASELINES["v1.1"]))
    assert dict(single.rows)["test top-1"] == "85.00%" and "per seed" not in str(single.rows)


def test_the_detail_panel_has_a_retrained_section(source):
    versions = {"new": source.version("new")}
    panel = callbacks.detail(source, {"study": "new", "number": 1}, versions)
    (section,) = [c for c in panel if getattr(c, "id", None) == layout.ids.RETRAINED]
    assert "validation and test" in section.children[0].children
    plain = callbacks.detail(source, {"study": "new", "number": 2}, versions)
    assert not [c for c in plain if getattr(c, "id", None) == layout.ids.RETRAINED]


# ---------------------------------------------------------------------------- live refresh


def test_a_new_retraining_changes_the_version_and_is_read(url, source):
    before = source.version("legacy")
    assert source.load("legacy").frame["retrained_test_top1"].isna().all()
    optuna.load_study(study_name="legacy", storage=url).set_user_attr("retrained:2", TRIAL1)
    assert source.version("legacy") != before
    info = figures.pareto_info([source.load("legacy")], x="params", y="top1")
    assert [(p.trial, p.y) for p in info.retrained] == [(2, pytest.approx(0.73))]
