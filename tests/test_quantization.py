"""A search with a `quantization` section: every trained trial is quantized to int8 as
`sqzdse export-model --int8` does it, scored by ONNX Runtime on the validation images, and records
top1_int8, top5_int8, int8_bytes and latency_int8_ms, which may be objectives; a failed
quantization keeps the fp32 result and says why; bad sections are refused with the field named."""

from __future__ import annotations

import json
import sys

import optuna
import pytest

from sqzdse import export_model
from sqzdse.analysis import load_trials
from sqzdse.dashboard import figures
from sqzdse.dashboard.source import StudySource
from sqzdse.errors import SearchError, SpaceError
from sqzdse.quantization import Settings
from sqzdse.records import OBJECTIVE_NAMES, Status, TrialRecord
from sqzdse.space import load_space, parse_space
from tests.search.helpers import TINY, refused, run, searched_all, write_space

# Two networks (three trials, so one is a duplicate), 16 px digits, enough steps to learn a bit.
SPACE = {
    "metaparameters": {
        "base_e": {"choices": [16, 32]},
        "incr_e": 16,
        "pct_3x3": 0.5,
        "freq": 2,
        "sr": 0.5,
    },
    "training": {
        **TINY["training"],
        "epochs": 3,
        "train_per_class": 40,
        "val_per_class": 20,
        "batch_size": 16,
        "lr": 0.01,
    },
    "n_trials": 3,
    "quantization": {"calibration_images": 64},
    "objectives": ["top1_int8", "peak_sram_bytes"],
}
INT8 = ("top1_int8", "top5_int8", "int8_bytes", "latency_int8_ms")


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    return searched_all(tmp_path_factory.mktemp("int8"), "int8", **SPACE)


def test_every_trained_trial_records_its_int8_metrics(searched):
    _, study, records = searched
    assert study.metric_names == ["top1_int8", "peak_sram_bytes"]
    trained = [r for r in records if r.status is Status.OK]
    assert len(trained) == 2  # two networks; the third trial is one of them again
    for record in trained:
        block, m = record.quantization, record.metrics
        assert block["settings"] == {"calibration_images": 64} and block["calibration_images"] == 64
        assert block["format"] == "QDQ" and block["per_channel"] and block["images"] == 200
        assert (m["top1_int8"], m["top5_int8"]) == (block["top1"], block["top5"])
        assert (m["int8_bytes"], m["latency_int8_ms"]) == (block["bytes"], block["latency_ms"])
        # The fp32 ONNX file scores what PyTorch scored after training, and agrees with it ...
        assert block["fp32_top1"] == pytest.approx(m["top1"], abs=1e-9)
        assert block["fp32_check"]["agree"] and block["fp32_check"]["max_abs_diff"] < 1e-4
        # ... the int8 network stays within 5 points (10 of 200 images) of it, its file is smaller
        assert abs(m["top1_int8"] - m["top1"]) <= 0.05 and 0 < m["top5_int8"] <= 1
        assert 0 < m["int8_bytes"] < block["fp32_bytes"]
        assert m["latency_int8_ms"] > 0 and block["seconds"] > 0
        # ... and the trial's values are its objectives.
        assert record.values == (m["top1_int8"], m["peak_sram_bytes"])
    assert max(r.metrics["top1"] for r in trained) > 0.2  # the networks learned (chance: 0.1)


def test_a_reused_network_copies_its_twins_int8_result(searched):
    _, _, records = searched
    by_number = {r.number: r for r in records}
    (reused,) = [r for r in records if r.status is Status.REUSED]
    twin = by_number[reused.reused_from]
    assert reused.quantization == twin.quantization
    assert {k: reused.metrics[k] for k in INT8} == {k: twin.metrics[k] for k in INT8}


def test_export_model_int8_reproduces_what_the_search_recorded(searched, tmp_path, capsys):
    url, _, records = searched
    trial = next(r for r in records if r.status is Status.OK)
    out = tmp_path / "m.int8.onnx"
    export = ("export-model", "--storage", url, "--trial", trial.number, "--int8", "-o", out)
    code, _, err = run(capsys, *export, "--calibration-images", 64)
    assert code == 0, err
    card = json.loads((tmp_path / "m.int8.card.json").read_text())["int8"]
    assert card["top1"] == trial.metrics["top1_int8"] and card["top5"] == trial.metrics["top5_int8"]
    assert card["bytes"] == trial.metrics["int8_bytes"] == out.stat().st_size
    assert card["sha256"] == trial.quantization["sha256"]  # the same file, byte for byte


def test_the_metrics_are_export_columns_and_dashboard_axes(searched):
    url, _, records = searched
    frame = load_trials(url).set_index("number")
    for record in records:
        assert [frame.loc[record.number, k] for k in INT8] == [record.metrics[k] for k in INT8]
    assert {"top1_int8", "top5_int8"} <= set(figures.Y_METRICS)
    assert {"int8_bytes", "latency_int8_ms"} <= set(figures.X_METRICS)
    assert set(INT8) <= set(OBJECTIVE_NAMES)
    data = StudySource(url).load("int8")
    assert figures.default_axes(data.objectives) == ("peak_sram_bytes", "top1_int8")
    info = figures.pareto_info([data], x="int8_bytes", y="top1_int8")
    points = info.points.sort_values("number")
    assert points["number"].tolist() == [r.number for r in records]
    assert points["x"].tolist() == [r.metrics["int8_bytes"] for r in records]
    assert not info.references  # measured, not known from the architecture
    assert "it is measured by running each trial's int8 network with ONNX Runtime" in " ".join(
        info.notes
    )


def test_a_study_never_quantized_says_why_nothing_is_drawn(tmp_path):
    from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

    url = sqlite_url(tmp_path / "plain.db")
    add_trial(create_study(url, study_name="plain"), arch=small_arch(), top1=0.7, top5=0.9)
    info = figures.pareto_info([StudySource(url).load("plain")], x="params", y="top1_int8")
    assert info.is_empty
    assert figures.empty_message(info).endswith(
        "int8 accuracies, file sizes and latencies are measured only by a search whose space has "
        "a `quantization` section."
    )


# ---------------------------------------------------------------------------- failures


def _search_one(tmp_path, monkeypatch, objectives):
    from sqzdse.search import Objective, make_setup, open_study, run_search

    def broken(*args, **kwargs):
        raise RuntimeError("no QLinearConv kernel for this")

    monkeypatch.setattr(export_model, "quantize_int8", broken)
    changes = {**SPACE, "metaparameters": {**SPACE["metaparameters"], "base_e": 16}}
    changes["training"] = {**SPACE["training"], "epochs": 1}
    changes.update(n_trials=1, objectives=objectives)
    space = load_space(str(write_space(tmp_path, name="broken", **changes)))
    setup = make_setup(space)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/b.db")
    study = open_study(setup, storage=storage, study_name="broken")
    try:  # a failed trial is made up for: stop after the first
        run_search(study, Objective(setup, n_trials=1), max_failures=1)
    except SearchError as err:
        assert "the last 1 trials all failed" in str(err)
    (trial,) = study.trials
    return trial


def test_a_failed_quantization_keeps_the_fp32_result_and_says_why(tmp_path, monkeypatch):
    trial = _search_one(tmp_path, monkeypatch, ["top1", "params"])
    assert trial.state.name == "COMPLETE" and trial.user_attrs["status"] == "ok"
    assert trial.values[0] == trial.user_attrs["top1"]
    assert trial.user_attrs["quantization_error"] == (
        "int8 quantization failed: RuntimeError: no QLinearConv kernel for this"
    )
    assert not set(INT8) & set(trial.user_attrs) and "quantization" not in trial.user_attrs


def test_a_failed_quantization_fails_a_trial_that_needs_it_but_keeps_its_training(
    tmp_path, monkeypatch
):
    trial = _search_one(tmp_path, monkeypatch, ["top1_int8", "params"])
    record = TrialRecord.from_trial(trial)
    assert trial.state.name == "FAIL" and record.status is Status.FAILED
    assert record.failure_reason == (
        "int8 quantization failed: RuntimeError: no QLinearConv kernel for this"
    )
    assert 0 <= record.metrics["top1"] <= 1 and len(record.curve) == 1  # the fp32 result


# ---------------------------------------------------------------------------- the section


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"quantization": {"calibration_images": 0}},
            "quantization.calibration_images must be an integer >= 1, got 0",
        ),
        (
            {"quantization": {"calibration_images": 2.5}},
            "quantization.calibration_images must be an integer >= 1, got 2.5",
        ),
        (
            {"quantization": {"calibration_images": True}},
            "quantization.calibration_images must be an integer >= 1, got True",
        ),
        ({"quantization": {"per_tensor": True}}, "quantization.per_tensor: unknown key"),
        ({"quantization": 256}, "quantization: expected a mapping"),
        (
            {"objectives": ["top1_int8", "params"]},
            "objectives: top1_int8 needs a `quantization` section",
        ),
        (
            {
                "objectives": ["top1", "int8_bytes"],
                "quantization": {},
                "fidelity": {"min_epochs": 1},
                "training": {**TINY["training"], "epochs": 3},
            },
            "int8_bytes is measured after training ends, so successive halving cannot rank",
        ),
    ],
)
def test_a_bad_quantization_section_names_the_field(tmp_path, capsys, change, message):
    assert message in refused(tmp_path, capsys, {**TINY, **change})


def test_a_search_without_onnx_runtime_is_refused_before_anything_is_written(
    tmp_path, capsys, monkeypatch
):
    space = write_space(tmp_path, name="q", quantization={})
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the extra were not installed
    db = tmp_path / "q.db"
    code, _, err = run(capsys, "search", "--space", space, "--storage", f"sqlite:///{db}")
    assert code == 2 and not db.exists()
    assert "the space's `quantization` section (int8 with ONNX Runtime) needs onnxruntime" in err


def test_the_section_defaults_and_enters_the_space_hash(tmp_path):
    plain = load_space(str(write_space(tmp_path, name="a")))
    default = load_space(str(write_space(tmp_path, name="a", quantization={})))
    fewer = load_space(str(write_space(tmp_path, name="a", quantization={"calibration_images": 8})))
    assert plain.quantization is None and default.quantization == Settings(256)
    assert len({plain.hash, default.hash, fewer.hash}) == 3
    assert load_space("micro").hash == "5420bbc7245a36ec"  # spaces without it keep theirs
    with pytest.raises(SpaceError, match="quantization.calibration_images"):
        parse_space({**TINY, "quantization": {"calibration_images": -1}})
