"""The metric table, the trial record and the study attributes: the one schema of a study."""

from __future__ import annotations

import math

import optuna
import pandas as pd
import pytest

from sqzdse.arch import preset
from sqzdse.records import (
    COLUMN_NAMES,
    METRIC_ORDER,
    METRICS,
    OBJECTIVE_NAMES,
    Epoch,
    Source,
    Status,
    StudyInfo,
    TrialRecord,
    analytic_metrics,
    format_value,
    metric,
    metrics_of,
)
from sqzdse.testing import small_arch


@pytest.mark.parametrize("name", list(METRICS))
def test_every_metric_is_complete(name):
    m = METRICS[name]
    assert m.name == name and m.direction in ("maximize", "minimize")
    assert m.label and m.short and m.meaning and m.dtype in ("Int64", "float64")
    assert (m.compute is not None) == (m.source is Source.ANALYTIC)
    assert name in COLUMN_NAMES and name in METRIC_ORDER
    assert (name in OBJECTIVE_NAMES) == m.objective


# (params, MACs) counted on the built PyTorch network: parameters of its modules, and
# out_h * out_w * out_channels * in_channels * kh * kw of every Conv2d on a forward pass
# (tests/test_model.py::measured_macs). v1.0's 818,924,576 is torchvision's 0.82 G.
# Peak SRAM and flash of the int8 network: tests/test_memory.py checks them against the built
# network's tensor shapes and convolutions.
BUILT_COUNTS = [
    (preset("v1.0"), 1_248_424, 818_924_576, 1_420_512, 1_276_256),
    (small_arch(), 727_626, 23_511_040, 81_920, 748_304),
    (small_arch(bypass="complex", sr=0.5), 3_219_210, 97_402_880, 81_920, 3_255_568),
]


@pytest.mark.parametrize(
    ("arch", "params", "macs", "sram", "flash"), BUILT_COUNTS, ids=["v1.0", "small", "complex"]
)
def test_analytic_metrics_are_the_exact_counts(arch, params, macs, sram, flash):
    assert analytic_metrics(arch) == {
        "params": params,
        "macs": macs,
        "size_bytes_32bit": 4 * params,
        "size_bytes_8bit": params,
        "peak_sram_bytes": sram,
        "flash_bytes": flash,
    }


def test_formatting_one_way_for_every_metric():
    assert format_value("params", 1248424) == "1,248,424"
    assert format_value("top1", 0.8125) == "81.25%"
    assert format_value("train_seconds", 4.23456) == "4.235"
    for missing in (None, math.nan, pd.NA, pd.NaT):
        assert format_value("top5", missing) == "n/a"
    assert format_value("top5", None, missing="-") == "-"


def test_unknown_metric_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown metric 'accuracy'; valid metrics: top1, top5"):
        metric("accuracy")


def test_metrics_by_source_and_role():
    assert metrics_of(source=Source.ANALYTIC) == (
        "params",
        "macs",
        "size_bytes_32bit",
        "size_bytes_8bit",
        "peak_sram_bytes",
        "flash_bytes",
    )
    assert set(metrics_of(source=Source.TRAINED)) == {
        "top1",
        "top5",
        "train_loss",
        "train_seconds",
        "images_per_second",
    }


def frozen(record: TrialRecord, state=optuna.trial.TrialState.COMPLETE, values=None):
    return optuna.trial.create_trial(state=state, values=values, user_attrs=record.user_attrs())


@pytest.mark.parametrize("status", list(Status))
def test_a_record_reads_back_as_written(status):
    arch = small_arch(sr=0.25, bypass="simple")
    curve = (
        Epoch(epoch=1, train_loss=2.0, top1=0.3, top5=0.8, seconds=1.5),
        Epoch(epoch=2, train_loss=1.5, top1=0.5, top5=0.9, seconds=3.0),
    )
    record = TrialRecord(
        arch=arch,
        status=status,
        metrics={**analytic_metrics(arch), "top1": 0.5},
        curve=curve,
        failure_reason="why" if status != Status.OK else None,
        reused_from=3 if status is Status.REUSED else None,
        device="cpu",
        versions={"sqzdse": "0.1.0"},
    )
    state = (
        optuna.trial.TrialState.FAIL
        if status is Status.FAILED
        else optuna.trial.TrialState.COMPLETE
    )
    back = TrialRecord.from_trial(
        frozen(record, state, [0.5] if state.name == "COMPLETE" else None)
    )
    assert (
        back.replace(
            number=None, state=None, values=None, datetime_start=None, datetime_complete=None
        )
        == record
    )
    assert back.state == state.name
    row = back.row()
    assert row["pool_after"] == "conv1,fire3,fire5" and row["status"] == status.value
    assert set(row) == set(COLUMN_NAMES) - {"pareto"}


def test_a_missing_metric_comes_from_the_objective_values():
    record = TrialRecord(arch=small_arch(), status=Status.OK)
    back = TrialRecord.from_trial(frozen(record, values=[0.75, 123.0]), ["top5", "params"])
    assert back.metrics == {"top5": 0.75, "params": 123.0}


def test_an_architecture_that_is_not_valid_here_is_kept_as_an_error():
    trial = optuna.trial.create_trial(values=[1.0], user_attrs={"arch": {"base_e": -1}})
    back = TrialRecord.from_trial(trial)
    assert back.arch is None and "base_e" in back.arch_error
    assert back.row()["base_e"] is None


class Recorder:
    def __init__(self):
        self.calls = []

    def set_user_attr(self, key, value):
        self.calls.append(key)


def test_write_stores_only_what_changed():
    trial = Recorder()
    record = TrialRecord(arch=small_arch(), metrics=analytic_metrics(small_arch()))
    written = record.write(trial)
    assert trial.calls == [
        "arch",
        "params",
        "macs",
        "size_bytes_32bit",
        "size_bytes_8bit",
        "peak_sram_bytes",
        "flash_bytes",
    ]
    trial.calls.clear()
    record.replace(status=Status.INFEASIBLE, failure_reason="over").write(trial, written=written)
    assert trial.calls == ["status", "failure_reason"]


def test_reusing_takes_the_training_result_and_keeps_the_costs():
    arch = small_arch()
    earlier = TrialRecord(
        arch=arch,
        status=Status.OK,
        number=4,
        device="cuda:0",
        metrics={"params": 1, "top1": 0.9, "train_seconds": 2.0},
        curve=(Epoch(1, 0.5, 0.9, 1.0, 2.0),),
        versions={"torch": "x"},
    )
    mine = TrialRecord(arch=arch, metrics={"params": 1, "macs": 2}).reusing(earlier)
    assert mine.status is Status.REUSED and mine.reused_from == 4 and mine.device == "cuda:0"
    assert mine.metrics == {"params": 1, "macs": 2, "top1": 0.9, "train_seconds": 2.0}
    assert mine.curve == earlier.curve


def test_study_info_round_trip(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", directions=["maximize"])
    info = StudyInfo(
        space_hash="abc",
        space={"name": "x", "training": {"resolution": 32}},
        objectives=(("top1", "maximize"), ("params", "minimize")),
        dataset="digits",
        num_classes=10,
        accuracy_note="note",
    )
    info.write(study)
    assert study.user_attrs["objectives"] == [["top1", "maximize"], ["params", "minimize"]]
    assert StudyInfo.read(study) == info and info.training == {"resolution": 32}
    assert StudyInfo.read(optuna.create_study()) == StudyInfo()


def test_an_epoch_keeps_its_validation_loss_and_reads_curves_stored_without_one():
    measured = Epoch(epoch=2, train_loss=1.5, top1=0.5, top5=0.9, seconds=3.0, val_loss=1.25)
    assert Epoch.from_dict(measured.to_dict()) == measured
    old = {"epoch": 1, "train_loss": 2.0, "top1": 0.3, "top5": 0.8, "seconds": 1.5}
    assert Epoch.from_dict(old) == Epoch(1, 2.0, 0.3, 0.8, 1.5, val_loss=None)
    assert Epoch.from_dict(old).to_dict() == old  # written back as it was
    assert Epoch.from_dict({"epoch": 1, "top1": 0.3}) is None
