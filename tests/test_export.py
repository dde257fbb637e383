"""sqzdse export and studies: typed round trips, copies that open in plain Optuna, clear errors."""

from __future__ import annotations

import json

import optuna
import pandas as pd
import pytest

from sqzdse import export_study as exporting
from sqzdse.analysis import load_trials, trials_frame
from sqzdse.cli import main
from sqzdse.cli.export import FORMATS
from sqzdse.errors import StorageError
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url
from tests.search.helpers import write_space


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    """A study with every kind of trial and awkward values; never modified by the tests."""
    url = sqlite_url(tmp_path_factory.mktemp("source") / "micro.db")
    study = create_study(url, study_name="micro")
    first = add_trial(study, top1=0.1 + 0.2, top5=1 / 3, train_loss=2.5e-17, train_seconds=1e-3)
    add_trial(study, arch=small_arch(sr=0.5, pct_3x3=0.99), top1=0.9, top5=0.99)
    add_trial(study, status="reused", reused_from=first, top1=0.1 + 0.2, top5=1 / 3)
    add_trial(study, arch=small_arch(pool_after=(), bypass="complex"), top1=0.5, top5=0.6)
    add_trial(study, status="failed", failure_reason='NA, "quoted", comma\nand a new line')
    add_trial(study, status="infeasible", arch=small_arch(sr=1.0, bypass="simple"))
    add_trial(study, state="RUNNING")
    # A trial whose architecture was never resolved: every architecture column is missing.
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            user_attrs={"status": "failed", "failure_reason": "NA"},
        )
    )
    return url


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------- columns


def test_export_columns_by_name():
    assert exporting.EXPORT_COLUMNS == (
        "number",
        "state",
        "status",
        "epochs_trained",
        "base_e",
        "incr_e",
        "pct_3x3",
        "freq",
        "sr",
        "num_modules",
        "pool_after",
        "bypass",
        "stem_filters",
        "stem_kernel",
        "stem_stride",
        "stem_padding",
        "num_classes",
        "resolution",
        "params",
        "macs",
        "size_bytes_32bit",
        "size_bytes_8bit",
        "peak_sram_bytes",
        "flash_bytes",
        "top1",
        "top5",
        "train_loss",
        "train_seconds",
        "images_per_second",
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
        "pareto",
        "failure_reason",
        "reused_from",
        "datetime_start",
        "datetime_complete",
    )


def test_cli_formats_match_the_library():
    assert FORMATS == exporting.FILE_FORMATS


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_round_trip_keeps_values_and_types(source, tmp_path, fmt):
    expected = trials_frame(optuna.load_study(study_name="micro", storage=source))
    result = exporting.export_study(storage=source, fmt=fmt, path=tmp_path / f"out.{fmt}")
    assert result.rows == 8 and result.study_name == "micro" and result.front_size == 4
    back = load_trials(tmp_path / f"out.{fmt}")
    pd.testing.assert_frame_equal(back, expected, check_exact=True)
    # The awkward values survived.
    assert back.loc[3, "pool_after"] == "" and pd.isna(back.loc[7, "pool_after"])
    assert back.loc[4, "failure_reason"] == 'NA, "quoted", comma\nand a new line'
    assert back.loc[7, "failure_reason"] == "NA"
    assert back.loc[0, "top5"] == 1 / 3 and back.loc[0, "top1"] == 0.1 + 0.2
    assert list(back["pareto"]) == [True, True, True, True, False, False, False, False]


def test_round_trip_of_a_searched_study(tmp_path, capsys):
    # All metaparameters fixed: trial 0 trains (a few seconds), trial 1 reuses its result.
    space = write_space(
        tmp_path,
        metaparameters={"base_e": 8, "incr_e": 0, "pct_3x3": 0.5, "freq": 2, "sr": 0.25},
        n_trials=2,
    )
    url = sqlite_url(tmp_path / "searched.db")
    assert run(capsys, "search", "--space", space, "--storage", url, "--quiet")[0] == 0
    expected = load_trials(url)
    assert expected["status"].tolist() == ["ok", "reused"] and expected["pareto"].all()
    # every column filled but those a plain search leaves empty (nothing failed, was compressed,
    # quantized or retrained)
    empty = [
        "failure_reason",
        "reused_from",
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
    ]
    assert expected.notna().all().drop(empty).all()
    for fmt in ("csv", "parquet", "json"):
        path = exporting.export_study(storage=url, fmt=fmt, path=tmp_path / f"s.{fmt}").path
        pd.testing.assert_frame_equal(load_trials(path), expected, check_exact=True)


def test_pareto_only_and_json_is_plain_records(source, tmp_path):
    path = tmp_path / "front.json"
    exporting.export_study(storage=source, fmt="json", path=path, pareto_only=True)
    records = json.loads(path.read_text())
    assert [r["number"] for r in records] == [0, 1, 2, 3]
    assert set(records[0]) == set(exporting.EXPORT_COLUMNS)
    assert records[0]["reused_from"] is None and records[2]["reused_from"] == 0


def test_empty_export_round_trips(tmp_path):
    url = sqlite_url(tmp_path / "empty.db")
    create_study(url, study_name="empty")
    for fmt in ("csv", "parquet", "json"):
        path = tmp_path / f"empty.{fmt}"
        exporting.export_study(storage=url, fmt=fmt, path=path)
        back = load_trials(path)
        assert back.empty and tuple(back.columns) == exporting.EXPORT_COLUMNS


def test_failed_write_leaves_no_file(source, tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("previous export\n")

    def half_then_fail(frame, path):
        path.write_text("number,sta")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(exporting._WRITERS, "csv", half_then_fail)
    with pytest.raises(StorageError, match="No space left on device"):
        exporting.export_study(storage=source, fmt="csv", path=target)
    assert target.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_bad_export_files(tmp_path):
    not_ours = tmp_path / "other.csv"
    not_ours.write_text("a,b\n1,2\n")
    with pytest.raises(StorageError, match="not a sqzdse export: it lacks the column"):
        load_trials(not_ours)
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    with pytest.raises(StorageError, match="cannot read .*broken.json as json"):
        load_trials(broken)
    with pytest.raises(StorageError, match="no such file"):
        load_trials(tmp_path / "missing.parquet")


# ---------------------------------------------------------------------------- copies


def test_copy_opens_in_plain_optuna(source, tmp_path):
    target = sqlite_url(tmp_path / "copy" / "copy.db")
    assert exporting.copy_study(storage=source, to_storage=target) == "micro"
    original = optuna.load_study(study_name="micro", storage=source)
    copy = optuna.load_study(study_name=None, storage=target)
    assert copy.study_name == "micro"
    assert copy.directions == original.directions and copy.metric_names == ["top5", "params"]
    assert copy.user_attrs == original.user_attrs
    for a, b in zip(original.trials, copy.trials, strict=True):
        assert (a.number, a.state, a.values, a.params) == (b.number, b.state, b.values, b.params)
        assert a.user_attrs == b.user_attrs and a.system_attrs == b.system_attrs
        assert (a.datetime_start, a.datetime_complete) == (b.datetime_start, b.datetime_complete)
    pd.testing.assert_frame_equal(load_trials(target), load_trials(source))


def test_copy_refuses_to_overwrite(source, tmp_path):
    target = sqlite_url(tmp_path / "copy.db")
    exporting.copy_study(storage=source, to_storage=target)
    with pytest.raises(
        StorageError, match="already holds a study named 'micro'; it is not overwritten"
    ):
        exporting.copy_study(storage=source, to_storage=target)
    assert (
        exporting.copy_study(storage=source, to_storage=target, to_study_name="micro-2")
        == "micro-2"
    )
    assert len(optuna.load_study(study_name="micro", storage=target).trials) == 8


# ---------------------------------------------------------------------------- the commands


def test_export_command_default_path(source, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "export", "--storage", source, "--format", "parquet")
    assert code == 0, err
    assert out.strip() == (
        "wrote 8 trial(s) of study 'micro' (4 on the Pareto front) to studies/micro.parquet"
    )
    assert len(load_trials(tmp_path / "studies" / "micro.parquet")) == 8


def test_export_command_output_suffix_and_pareto_only(source, tmp_path, capsys):
    out_file = tmp_path / "front.json"
    code, out, _ = run(
        capsys, "export", "--storage", source, "--study", "micro", "--pareto-only", "-o", out_file
    )
    assert code == 0 and "wrote 4 trial(s)" in out
    assert len(json.loads(out_file.read_text())) == 4


def test_export_command_to_storage(source, tmp_path, capsys):
    target = sqlite_url(tmp_path / "copy.db")
    code, out, _ = run(capsys, "export", "--storage", source, "--to-storage", target)
    assert code == 0 and f"copied study 'micro' to {target}" in out
    assert not (tmp_path / "studies").exists()  # no file export asked for
    code, _, err = run(capsys, "export", "--storage", source, "--to-storage", target)
    assert code == 2 and "already holds a study named 'micro'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "xlsx"], "'xlsx' is not one of 'csv', 'parquet', 'json'"),
        (["-o", "out.txt"], "cannot tell the format from 'out.txt'"),
        (
            ["--format", "csv", "-o", "out.json"],
            "--format csv contradicts the output name 'out.json'",
        ),
        (["--study", "nope"], "no study named 'nope' in sqlite:///"),
        (
            ["--pareto-only", "--to-storage", "sqlite:///x.db"],
            "--pareto-only applies to file exports",
        ),
    ],
)
def test_export_command_errors(source, tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "export", "--storage", source, *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a folder


def test_export_command_missing_database_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "export", "--storage", "sqlite:///studies/nothing.db")
    assert code == 2 and err.startswith("sqzdse: error:") and "no such file" in err
    code, _, err = run(capsys, "studies", "--storage", "sqlite:///nothing.db")
    assert code == 2 and "no such file" in err
    assert list(tmp_path.iterdir()) == []


def test_export_command_several_studies_need_a_name(tmp_path, capsys):
    url = sqlite_url(tmp_path / "two.db")
    create_study(url, study_name="alpha")
    create_study(url, study_name="beta")
    code, _, err = run(capsys, "export", "--storage", url, "-o", tmp_path / "x.csv")
    assert code == 2 and "holds 2 studies; choose one (--study NAME): alpha, beta" in err
    assert not (tmp_path / "x.csv").exists()


def test_studies_command_table_and_json(source, tmp_path, capsys):
    target = sqlite_url(tmp_path / "both.db")
    exporting.copy_study(storage=source, to_storage=target)
    other = create_study(
        target,
        study_name="accuracy-macs",
        objectives=(("top1", "maximize"), ("macs", "minimize"), ("params", "minimize")),
    )
    add_trial(other, top1=0.5, top5=0.9)
    code, out, _ = run(capsys, "studies", "--storage", target)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "study",
        "objectives",
        "trials",
        "complete",
        "pruned",
        "fail",
        "running",
        "waiting",
        "front",
    ]
    assert lines[2].split() == [
        "accuracy-macs",
        "top1",
        "max,",
        "macs",
        "min,",
        "params",
        "min",
        "1",
        "1",
        "0",
        "0",
        "0",
        "0",
        "1",
    ]
    assert lines[3].split() == [
        "micro",
        "top5",
        "max,",
        "params",
        "min",
        "8",
        "4",
        "1",
        "2",
        "1",
        "0",
        "4",
    ]
    code, out, _ = run(capsys, "studies", "--storage", target, "--json")
    listed = json.loads(out)
    assert [s["study"] for s in listed] == ["accuracy-macs", "micro"]
    assert listed[1] == {
        "study": "micro",
        "objectives": [["top5", "maximize"], ["params", "minimize"]],
        "trials": 8,
        "front_size": 4,
        "states": {"RUNNING": 1, "COMPLETE": 4, "PRUNED": 1, "FAIL": 2, "WAITING": 0},
    }


def test_studies_command_on_an_empty_storage(tmp_path, capsys):
    url = sqlite_url(tmp_path / "none.db")
    optuna.storages.RDBStorage(url)
    code, out, _ = run(capsys, "studies", "--storage", url)
    assert code == 0 and "no study in" in out
    code, out, _ = run(capsys, "studies", "--storage", url, "--json")
    assert json.loads(out) == []
