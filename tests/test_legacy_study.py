"""A study written before the records refactor opens, exports and dashboards as it did then.

tests/fixtures/legacy/ holds the database and what that code read from it (see its README).
"""

from __future__ import annotations

import csv
import dataclasses
import io
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


# Added since the fixture was written ([multi-fidelity], [deploy], [compression]), with their
# values here: the curve's length of every trained trial; no latency (not measured then), no
# compression, no int8 quantization, no retraining.
ADDED = {
    "epochs_trained": ["4", "4", "", "4", "4", "", "4", "4", "", ""],
    "latency_ms": [""] * 10,
    "compressed_bytes": [""] * 10,
    "top1_compressed": [""] * 10,
    "top5_compressed": [""] * 10,
    "top1_int8": [""] * 10,
    "top5_int8": [""] * 10,
    "int8_bytes": [""] * 10,
    "latency_int8_ms": [""] * 10,
    "retrained_top1": [""] * 10,
    "retrained_top5": [""] * 10,
    "retrained_test_top1": [""] * 10,
    "retrained_test_top5": [""] * 10,
    # [front]: the stem became a searchable dimension, so it is a column
    "stem_filters": ["16"] * 8 + ["64"] * 2,
    "stem_kernel": ["3"] * 10,
    "stem_stride": ["2"] * 8 + ["1"] * 2,
    "stem_padding": ["0"] * 8 + ["1"] * 2,
    # [embedded]: int8 memory, exact from each trial's architecture though the trials predate it
    "peak_sram_bytes": ["6672"] * 8 + ["20480", "81920"],
    "flash_bytes": [
        "8480",
        "5152",
        "24080",
        "8480",
        "13456",
        "24080",
        "8480",
        "8192",
        "748304",
        "748304",
    ],
}
MEMORY = {metric(name).label: name for name in ("peak_sram_bytes", "flash_bytes")}


def test_csv_export_is_the_same_text_plus_the_added_columns(url, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["export", "--storage", url, "-o", str(out)]) == 0
    new = list(csv.reader(io.StringIO(out.read_text(), newline="")))
    old = list(csv.reader(io.StringIO((FIXTURE / "expected.csv").read_text(), newline="")))
    added = [new[0].index(name) for name in ADDED]
    for at, values in zip(added, ADDED.values(), strict=True):
        assert [row[at] for row in new[1:]] == values
    assert [[v for i, v in enumerate(row) if i not in added] for row in new] == old
    assert out.read_text().count("\n") == (FIXTURE / "expected.csv").read_text().count("\n")


def test_json_export_is_the_same_plus_the_added_columns(url, tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["export", "--storage", url, "-o", str(out)]) == 0
    new = json.loads(out.read_text())
    old = json.loads((FIXTURE / "expected.json").read_text())
    for name, values in ADDED.items():
        assert ["" if (v := row.pop(name)) is None else str(v) for row in new] == values
    assert [list(row.items()) for row in new] == [list(row.items()) for row in old]


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
        # Metric labels are the metric table's now (they were worded differently here), and the
        # int8 memory metrics were added, computed from the architecture.
        metrics = new.pop("metrics")
        added = {MEMORY[label]: value for label, value in metrics if label in MEMORY}
        assert added == {name: f"{int(ADDED[name][number]):,}" for name in MEMORY.values()}
        kept = [value for label, value in metrics if label not in MEMORY]
        assert kept == [v for _, v in old.pop("metrics")]
        # Curves gained the validation loss, unknown (None) for epochs measured before it was.
        curve = new.pop("curve")
        assert [entry.pop("val_loss") for entry in curve] == [None] * len(curve)
        assert curve == old.pop("curve")
        assert new == old
    labels = [label for label, _ in details.trial_detail(data, 0).metrics]
    # Every metric the trial has, in the table's order (no latency, compression, int8, retraining).
    absent = (
        "latency_ms",
        "compressed_bytes",
        "top1_compressed",
        "top5_compressed",
        "top1_int8",
        "top5_int8",
        "int8_bytes",
        "latency_int8_ms",
        "retrained_top1",
        "retrained_top5",
        "retrained_test_top1",
        "retrained_test_top5",
    )
    assert labels == [metric(name).label for name in METRIC_ORDER if name not in absent]
