"""The trial table (`figures.table`)."""

from __future__ import annotations

from sqzdse.dashboard import figures
from tests.dashboard.figures.conftest import FRONT, PARAMS
from tests.dashboard.figures.hand import FRONTS, HAND, study


def test_trial_table_lists_every_trial_and_marks_the_front():
    rows = figures.trial_table_rows([study()], x="params", y="top1")
    assert [r["number"] for r in rows] == list(range(len(HAND)))
    assert [r["number"] for r in rows if r["front"] == "yes"] == FRONTS["params", "top1"]
    assert rows[6]["state"] == "FAIL" and rows[6]["failure_reason"] == "loss is nan"
    assert rows[9]["status"] is None and rows[9]["top1"] is None  # no NaN reaches the browser
    assert [figures.parse_row_id(r["id"]) for r in rows[:2]] == [("hand", 0), ("hand", 1)]
    assert figures.parse_row_id("x@y@z") is None and figures.parse_row_id("12@a@b") == ("a@b", 12)


def test_the_table_has_the_retrained_accuracy_beside_the_proxys():
    rows = figures.trial_table_rows([study()], x="params", y="top1")
    headers = [c for c, _, _ in figures.TABLE_COLUMNS]
    assert headers.index("retrained_top1") > headers.index("top1")
    assert rows[0]["top1"] == 0.5 and rows[0]["retrained_top1"] == 0.51
    assert "retrained_top1" in figures.Y_METRICS  # and a y axis


def test_the_trial_table_of_a_factory_study(factory):
    rows = figures.trial_table_rows([factory], x="params", y="top5")
    assert [r["number"] for r in rows] == [0, 1, 2, 3]
    assert [r["number"] for r in rows if r["front"] == "yes"] == FRONT
    assert {r["number"]: r["params"] for r in rows[:3]} == PARAMS
    assert rows[3]["state"] == "FAIL" and rows[3]["top5"] is None
    assert [r["id"] for r in rows[:2]] == ["0@views", "1@views"]
