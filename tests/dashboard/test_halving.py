"""Trials stopped at a rung of successive halving in the dashboard, on a study made by the factory
and read through a StudySource: drawn faint at the accuracy they had reached, never on a front;
their partial curve, epoch and rungs in the detail panel; hypervolume against training seconds."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.dashboard import callbacks, details, figures, layout
from sqzdse.dashboard.layout import ids
from sqzdse.dashboard.source import StudySource
from sqzdse.records import Epoch, Rung, Status, TrialRecord, analytic_metrics
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table.DataTable will be removed:DeprecationWarning"
)

A, B, C = small_arch(), small_arch(sr=0.5), small_arch(base_e=32, incr_e=32)
PARAMS = {"A": 727_626, "B": 2_882_058, "C": 48_858}  # counted on the built networks
REASON = (
    "stopped at epoch 1 of 3: ranked 2 of 3 at this rung (front 1); "
    "the top 1 (n / eta, eta=3) go on"
)


def curve(*top5: float, seconds: float = 10.0) -> list[Epoch]:
    """One epoch per top-5 value, top-1 0.2 below it, `seconds` per epoch."""
    return [
        Epoch(epoch=k, train_loss=1.0 / k, top1=round(t - 0.2, 2), top5=t, seconds=seconds * k)
        for k, t in enumerate(top5, start=1)
    ]


def add_record(study: optuna.Study, record: TrialRecord, values=None) -> int:
    """Store `record` as the search does: COMPLETE with `values`, else PRUNED (the factory writes
    no rungs)."""
    state = TrialState.PRUNED if values is None else TrialState.COMPLETE
    study.add_trial(
        optuna.trial.create_trial(state=state, values=values, user_attrs=record.user_attrs())
    )
    return len(study.get_trials(deepcopy=False)) - 1


@pytest.fixture
def url(tmp_path) -> str:
    """Trials, by hand (3 epochs each; objectives top-5 up, params down):
    0 ok, network A, top-5 0.9 (top-1 0.7), 30 s;
    1 ok, network B, top-5 0.95 (top-1 0.75), 40 s, went on at the rung at epoch 1;
    2 stopped at epoch 1, network C (the smallest): top-5 0.6, top-1 0.4 then, 10 s; on the front
      of everything if it counted;
    3 failed after 5 s; 4 infeasible (never trained); 5 reused trial 0's result (30 s copied)."""
    url = sqlite_url(tmp_path / "s.db")
    study = create_study(url, study_name="s")
    add_trial(study, arch=A, top1=0.7, top5=0.9, train_seconds=30.0, curve=curve(0.7, 0.8, 0.9))
    add_record(
        study,
        TrialRecord(
            arch=B,
            status=Status.OK,
            metrics={**analytic_metrics(B), "top1": 0.75, "top5": 0.95, "train_seconds": 40.0},
            curve=tuple(curve(0.8, 0.9, 0.95)),
            rungs=(Rung(1, (0.8, 2_882_058.0), (0,), True, 0, 1, 2, "ranked 1 of 2"),),
        ),
        values=[0.95, 2_882_058],
    )
    add_record(
        study,
        TrialRecord(
            arch=C,
            status=Status.STOPPED,
            metrics={**analytic_metrics(C), "train_seconds": 10.0},
            curve=tuple(curve(0.6)),
            failure_reason=REASON,
            rungs=(Rung(1, (0.6, 48_858.0), (0, 1), False, 1, 1, 3, REASON),),
        ),
    )
    add_trial(study, status="failed", metrics={"train_seconds": 5.0})
    add_trial(study, status="infeasible")
    add_trial(
        study,
        arch=A,
        status="reused",
        reused_from=0,
        top1=0.7,
        top5=0.9,
        train_seconds=30.0,
        curve=curve(0.7, 0.8, 0.9),
    )
    return url


def test_the_study_is_what_the_fixture_says(url):
    data = StudySource(url).load("s")
    assert {k: analytic_metrics(v)["params"] for k, v in zip("ABC", (A, B, C))} == PARAMS
    assert data.epochs == 3  # the epochs its completed trials trained for
    statuses = ["ok", "ok", "stopped", "failed", "infeasible", "reused"]
    assert data.frame["status"].tolist() == statuses


@pytest.mark.parametrize(("y", "reached"), [("top5", 0.6), ("top1", 0.4)])
def test_stopped_trials_are_drawn_faint_at_their_last_accuracy_never_on_the_front(url, y, reached):
    info = figures.pareto_info([StudySource(url).load("s")], x="params", y=y)
    assert info.stopped["number"].tolist() == [2]
    assert info.stopped[["x", "y"]].values.tolist() == [[PARAMS["C"], reached]]
    assert not info.stopped["on_front"].any()
    # Only the finished trials are points and front members; the stopped one would beat them all.
    assert sorted(info.points["number"]) == [0, 1, 5]
    assert sorted(info.fronts["s"]["number"]) == [0, 1, 5]
    hover = info.stopped["hover"].iloc[0]
    assert "(stopped)" in hover and hover.endswith("<br>stopped at epoch 1 of 3")
    assert f"{figures.Y_METRICS[y]} {reached:.2%}" in hover

    fig = figures.pareto_figure(info)
    (faint,) = [t for t in fig.data if (t.meta or {}).get("role") == "stopped"]
    assert faint.name == "stopped at a rung (1)" and faint.marker.opacity < 0.5
    assert [list(c) for c in faint.customdata] == [["s", 2]]  # a click opens its detail
    assert list(faint.y) == [reached]
    for role in ("trials", "front"):
        numbers = [
            int(c[1]) for t in fig.data if (t.meta or {}).get("role") == role for c in t.customdata
        ]
        assert 2 not in numbers
    assert figures.summary_lines(info)[0] == (
        f"s: 6 trials, 3 plotted, 3 on the Pareto front of {figures.Y_METRICS[y]} vs parameters; "
        "1 stopped at a rung (drawn faint at the accuracy reached then, never on the front); "
        "not plotted: 1 failed, 1 infeasible (not trained)."
    )


def test_a_study_with_only_stopped_trials_draws_them(tmp_path):
    url = sqlite_url(tmp_path / "stopped.db")
    study = create_study(url, study_name="early")
    add_trial(study, arch=C, status="stopped", top1=0.3, top5=0.5, curve=curve(0.4, 0.5))
    info = figures.pareto_info([StudySource(url).load("early")], x="params", y="top5")
    assert not info.is_empty and len(info.points) == 0
    # No completed trial says how many epochs a full run has: the hover says only where it stopped.
    assert info.stopped["hover"].iloc[0].endswith("<br>stopped at epoch 2")
    fig = figures.pareto_figure(info)
    assert [(t.meta or {}).get("role") for t in fig.data].count("stopped") == 1
    assert not [t for t in fig.data if (t.meta or {}).get("role") == "front"]


def test_detail_of_a_stopped_trial_shows_its_epoch_reason_partial_curve_and_rungs(url):
    source = StudySource(url)
    data = source.load("s")
    detail = details.trial_detail(data, 2)
    assert details.status_line(detail) == f"s trial #2: pruned, {REASON}."
    assert [e.epoch for e in detail.curve] == [1] and detail.curve[0].top5 == 0.6
    assert "top-5 accuracy" not in dict(detail.metrics)  # it has no final accuracy
    assert details.rung_decisions(data, 2) == (
        details.RungDecision(
            epoch=1, values="top-5 60.00% · params 48,858", ranked="2 of 3", kept=1, continues=False
        ),
    )
    assert details.rung_decisions(data, 1)[0].continues
    assert details.rung_decisions(data, 0) == ()  # no successive halving, no rung

    panel = callbacks.detail(source, {"study": "s", "number": 2}, None)
    assert panel[1].children == f"s trial #2: pruned, {REASON}."
    (graph,) = [c for c in panel if getattr(c, "id", None) == ids.CURVE]
    assert [list(t.y) for t in graph.figure.data] == [[0.4], [0.6], [1.0]]  # the partial curve
    (rungs,) = [c for c in panel if getattr(c, "id", None) == ids.RUNGS]
    header, row = rungs.children
    assert [cell.children for cell in row.children] == [
        "1",
        "top-5 60.00% · params 48,858",
        "2 of 3",
        "top 1",
        "stopped",
    ]
    finished = callbacks.detail(source, {"study": "s", "number": 0}, None)
    assert not [c for c in finished if getattr(c, "id", None) == ids.RUNGS]


def test_status_line_names_the_epoch_when_the_reason_does_not():
    detail = details.TrialDetail(
        study="s",
        number=7,
        state="PRUNED",
        status="stopped",
        failure_reason="same network as trial 2, stopped at epoch 1 of 3: ranked 2 of 3",
        reused_from=2,
        metrics=(),
        layers=(),
        command=None,
        command_notes=(),
        curve=tuple(curve(0.6)),
    )
    assert details.status_line(detail) == (
        "s trial #7: pruned, stopped at epoch 1 (training result reused from trial #2): same "
        "network as trial 2, stopped at epoch 1 of 3: ranked 2 of 3."
    )
    assert layout.detail_panel(detail)[1].children == details.status_line(detail)


def test_hypervolume_is_drawn_against_cumulative_training_seconds(url, tmp_path):
    other_url = sqlite_url(tmp_path / "other.db")
    add_trial(
        create_study(other_url, study_name="other"), arch=B, top1=0.5, top5=0.8, train_seconds=7.0
    )
    datas = [StudySource(url).load("s"), StudySource(other_url).load("other")]
    info = figures.hypervolume_info(datas, x="params", y="top5")
    ref = 1.1 * PARAMS["B"]  # shared by both studies: 1.1 x the largest eligible params
    assert info.reference == (0.0, pytest.approx(ref))
    # 30 s, +40, +10 (stopped), +5 (failed), +0 (infeasible), +0 (reused: trial 0's seconds)
    seconds = [30.0, 70.0, 80.0, 85.0, 85.0, 85.0]
    first = 0.9 * (ref - PARAMS["A"])
    both = first + (0.95 - 0.9) * (ref - PARAMS["B"])
    history = info.series["s"]
    assert history["cumulative_train_seconds"].tolist() == seconds
    assert history["hypervolume"].tolist() == pytest.approx([first] + [both] * 5)

    fig = figures.hypervolume_figure(info)
    mine, theirs = fig.data
    assert (mine.name, theirs.name) == ("s", "other")
    assert list(mine.x) == seconds and list(mine.customdata) == [0, 1, 2, 3, 4, 5]
    assert list(theirs.x) == [7.0] and list(theirs.y) == pytest.approx([0.8 * (ref - PARAMS["B"])])
    assert "trial #%{customdata}" in mine.hovertemplate
    assert fig.layout.xaxis.title.text == "cumulative training seconds"
    assert fig.layout.showlegend
