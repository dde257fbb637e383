"""Each Dash callback called as a plain function, on a real study read through a StudySource."""

from __future__ import annotations

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from sqzdse.dashboard import callbacks
from sqzdse.dashboard.layout import ids
from sqzdse.dashboard.source import StudySource
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table.DataTable will be removed:DeprecationWarning"
)


@pytest.fixture
def source(tmp_path) -> StudySource:
    url = sqlite_url(tmp_path / "s.db")
    study = create_study(url, study_name="s")
    add_trial(study, top1=0.5, top5=0.8)
    add_trial(study, arch=small_arch(sr=0.5), top1=0.7, top5=0.9)
    add_trial(study, status="failed")
    return StudySource(url)


def versions(source):
    return {"s": source.version("s")}


def test_refresh_reports_new_versions_only(source):
    known, options, live = callbacks.refresh(source, 1, ["s"], None, [])
    assert known == versions(source) and options == [{"label": "s", "value": "s"}]
    assert live.startswith("· read at")
    again, same_options, _ = callbacks.refresh(source, 2, ["s"], known, options)
    assert again is no_update and same_options is no_update


def test_views_draw_the_selected_studies(source):
    figure, summary, banner, style = callbacks.main_view(
        source, versions(source), "params", "top5", "bypass"
    )
    assert sum(len(t.x) for t in figure.data if (t.meta or {}).get("role") == "trials") == 2
    assert "3 trials, 2 plotted" in summary[0].children and style == {"display": "none"}
    rows = callbacks.table(source, versions(source), "params", "top5")
    assert [r["number"] for r in rows] == [0, 1, 2] and rows[1]["front"] == "yes"
    (history,) = callbacks.hypervolume(source, versions(source), "params", "top5").data
    # by hand: trial 0 has 727,626 parameters at top-5 0.8, trial 1 2,882,058 at 0.9, trial 2
    # failed; the reference is top-5 0 and 1.1 x the largest parameter count
    ref = 1.1 * 2_882_058
    first = (ref - 727_626) * 0.8
    both = first + (ref - 2_882_058) * (0.9 - 0.8)
    assert list(history.y) == pytest.approx([first, both, both])
    # against the training seconds spent: 2 s for each trained trial (the factory's default),
    # none recorded for the failed one; the hover names the trial
    assert list(history.x) == [2.0, 4.0, 4.0] and list(history.customdata) == [0, 1, 2]
    (axes,) = callbacks.parallel(source, versions(source), "params", "top5").data
    columns = {d.label: list(d.values) for d in axes.dimensions}
    assert columns["params"] == [727_626, 2_882_058] and columns["top5"] == [0.8, 0.9]


def test_select_from_the_graph_or_the_table():
    click = {"points": [{"customdata": ["s", 1]}]}
    assert callbacks.select(click, None, triggered=ids.PARETO) == {"study": "s", "number": 1}
    assert callbacks.select(None, {"row_id": "2@s"}, triggered=ids.TABLE) == {
        "study": "s",
        "number": 2,
    }
    with pytest.raises(PreventUpdate):
        callbacks.select(None, None, triggered=ids.TABLE)


def test_detail_of_a_trial_and_of_nothing(source):
    panel = callbacks.detail(source, {"study": "s", "number": 1}, None)
    assert panel[0].children == "s · trial #1"
    assert any(getattr(c, "id", None) == ids.LAYERS for c in panel)
    with pytest.raises(PreventUpdate):
        callbacks.detail(source, None, None)


def test_an_unreadable_study_changes_nothing(source):
    with pytest.raises(PreventUpdate):
        callbacks.main_view(source, {"gone": "x"}, "params", "top5", "bypass")
    with pytest.raises(PreventUpdate):
        callbacks.detail(source, {"study": "gone", "number": 0}, None)


def test_click_and_row_selection_helpers():
    click = {"points": [{"customdata": ["micro", 7], "x": 1, "y": 2}]}
    assert callbacks.clicked_trial(click) == {"study": "micro", "number": 7}
    for bad in (None, {}, {"points": []}, {"points": [{"x": 1}]}):
        assert callbacks.clicked_trial(bad) is None
    assert callbacks.selected_row({"row_id": "3@micro", "row": 0}) == {
        "study": "micro",
        "number": 3,
    }
    assert callbacks.selected_row(None) is None
