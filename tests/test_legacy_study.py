"""A study written before the records refactor opens, exports and dashboards as it did then.

tests/fixtures/legacy/ holds the database and what that code read from it (see its README).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from sqzdse.cli import main
from sqzdse.dashboard import details, figures
from sqzdse.dashboard.source import StudySource
from sqzdse.records import METRIC_ORDER, Status, TrialRecord, metric
from sqzdse.storage import load_study

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "legacy"


@pytest.fixture
def url(tmp_path) -> str:
    copy = tmp_path / "legacy.db"
    shutil.copyfile(FIXTURE / "legacy.db", copy)  # readers never write, but the fixture stays safe
    return f"sqlite:///{copy}"


@pytest.fixture
def expected() -> dict:
    return json.loads((FIXTURE / "expected_dashboard.json").read_text())


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_is_byte_for_byte_the_same(url, tmp_path, fmt, capsys):
    out = tmp_path / f"out.{fmt}"
    assert main(["export", "--storage", url, "-o", str(out)]) == 0
    assert out.read_bytes() == (FIXTURE / f"expected.{fmt}").read_bytes()


def test_studies_overview_is_the_same(url, capsys):
    assert main(["studies", "--storage", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(
        (FIXTURE / "expected_studies.json").read_text()
    )


def test_every_trial_reads_back_as_a_record(url):
    study = load_study(url)
    records = [TrialRecord.from_trial(t, ["top1", "params"]) for t in study.trials]
    assert [r.status for r in records] == [
        Status.OK,
        Status.OK,
        Status.INFEASIBLE,
        Status.REUSED,
        Status.OK,
        Status.INFEASIBLE,
        Status.REUSED,
        Status.OK,
        Status.FAILED,
        None,
    ]
    assert all(r.arch is not None and r.arch_error is None for r in records)
    trained = [r for r in records if r.status is Status.OK]
    assert all(len(r.curve) == 4 and r.curve[-1].top1 == r.metrics["top1"] for r in trained)
    # What a record writes is what the old search wrote, key for key and value for value.
    for trial, record in zip(study.trials, records):
        assert record.user_attrs() == trial.user_attrs


def test_dashboard_reads_the_same(url, expected):
    data = StudySource(url).load("legacy")
    assert [list(p) for p in data.objectives] == expected["objectives"]
    assert (data.num_classes, data.resolution, data.dataset, data.accuracy_note) == (
        expected["num_classes"],
        expected["resolution"],
        expected["dataset"],
        expected["accuracy_note"],
    )
    assert dict(data.training) == expected["training"]
    info = figures.pareto_info([data], x="params", y="top1")
    assert figures.summary_lines(info) == expected["summary"]
    # The table gained the 8-bit size column (every objective metric is a column now).
    rows = figures.trial_table_rows([data], x="params", y="top1")
    assert [{k: row[k] for k in old} for row, old in zip(rows, expected["table_rows"])] == expected[
        "table_rows"
    ]
    for number, old in enumerate(expected["details"]):
        new = json.loads(json.dumps(dataclasses.asdict(details.trial_detail(data, number))))
        # Metric labels are the metric table's now (they were worded differently here).
        assert [value for _, value in new.pop("metrics")] == [v for _, v in old.pop("metrics")]
        # Curves gained the validation loss, unknown (None) for epochs measured before it was.
        curve = new.pop("curve")
        assert [entry.pop("val_loss") for entry in curve] == [None] * len(curve)
        assert curve == old.pop("curve")
        assert new == old
    labels = [label for label, _ in details.trial_detail(data, 0).metrics]
    assert labels == [metric(name).label for name in METRIC_ORDER]
