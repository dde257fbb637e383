"""Bad settings are refused before anything is written; failing searches stop; nothing half-written.

Each test here failed before the [hardening] issue's fixes (see the issue's failure modes 1-6).
"""

from __future__ import annotations

import os
import signal

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.cli import main
from sqzdse.errors import SearchError, StorageError
from sqzdse.records import StudyInfo, TrialRecord
from sqzdse.search import Objective, make_setup, open_study, run_search
from sqzdse.space import parse_space
from sqzdse.storage import open_storage
from sqzdse.testing import sqlite_url
from sqzdse.train import TrainResult
from tests.search.helpers import TINY, load, run, write_space

pytestmark = pytest.mark.usefixtures("one_thread")


def failing_trainer(cfg, data, config, **kwargs):
    return TrainResult(
        status="failed",
        reason="out of memory on cuda:0: CUDA out of memory",
        top1=None,
        top5=None,
        train_loss=None,
    )


def refused(capsys, tmp_path, *args, message: str, code: int = 2) -> None:
    """The command exits `code` with one line naming the problem, and writes no file at all."""
    before = sorted(tmp_path.rglob("*"))
    db = tmp_path / "refused.db"
    got, out, err = run(capsys, "search", *args, "--storage", sqlite_url(db))
    assert got == code, err
    assert err.startswith("sqzdse: error:") and message in err and "Traceback" not in err, err
    assert sorted(tmp_path.rglob("*")) == before  # no database, no folder


# ---------------------------------------------------------------------------- 1. failing searches


def test_a_search_whose_trials_all_fail_stops_with_their_reasons(tmp_path):
    setup = make_setup(parse_space({**TINY, "n_trials": 50}))
    study = open_study(
        setup, storage=open_storage(sqlite_url(tmp_path / "s.db"), mode="write"), study_name="tiny"
    )
    with pytest.raises(
        SearchError,
        match=r"the last 4 trials all failed .*"
        r"out of memory on cuda:0: CUDA out of memory \(4x\)",
    ):
        run_search(study, Objective(setup, n_trials=50, trainer=failing_trainer), max_failures=4)
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 4


def test_the_cli_stops_after_max_failures_and_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sqzdse.train.train_proxy", failing_trainer)
    code, _, err = run(
        capsys,
        "search",
        "--space",
        write_space(tmp_path, n_trials=30),
        "--storage",
        sqlite_url(tmp_path / "s.db"),
        "--max-failures",
        "3",
    )
    assert code == 1 and "the last 3 trials all failed" in err and "CUDA out of memory" in err
    assert len(load(tmp_path / "s.db").trials) == 3


def test_an_exception_inside_a_trial_is_recorded_as_failed_with_its_reason(
    tmp_path, capsys, monkeypatch
):
    def broken(cfg, data, config, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("sqzdse.train.train_proxy", broken)
    code, _, err = run(
        capsys,
        "search",
        "--space",
        write_space(tmp_path),
        "--storage",
        sqlite_url(tmp_path / "s.db"),
        "--max-failures",
        "2",
    )
    assert code == 1 and "RuntimeError: boom (2x)" in err
    for trial in load(tmp_path / "s.db").trials:
        record = TrialRecord.from_trial(trial)
        assert record.status == "failed" and record.failure_reason == "RuntimeError: boom"


# ---------------------------------------------------------------------------- 2-4. refused early


def test_settings_that_would_fail_every_trial_are_refused_before_writing(tmp_path, capsys):
    missing = write_space(
        tmp_path,
        "missing",
        training={
            **TINY["training"],
            "dataset": "folder",
            "data_root": str(tmp_path / "no-such-folder"),
        },
    )
    refused(capsys, tmp_path, "--space", missing, message="no-such-folder")
    refused(
        capsys,
        tmp_path,
        "--space",
        write_space(tmp_path, "cuda"),
        "--device",
        "cuda",
        message="CUDA is not available",
    )
    small_batch = write_space(tmp_path, "batch", training={**TINY["training"], "batch_size": 1})
    refused(
        capsys, tmp_path, "--space", small_batch, message="`batch_size` must be an integer >= 2"
    )


@pytest.mark.parametrize(
    ("sampler", "message"),
    [
        ({"name": "nsga2", "population_size": 1}, "the nsga2 sampler refuses these settings"),
        (
            {"name": "random", "seed": 2**32},
            "sampler.seed: expected an integer from 0 to 4294967295",
        ),
        ({"name": "bruteforce"}, "metaparameters.pct_3x3: a continuous range"),
    ],
)
def test_sampler_settings_are_refused_before_writing(tmp_path, capsys, sampler, message):
    space = write_space(
        tmp_path,
        sampler=sampler,
        metaparameters={**TINY["metaparameters"], "pct_3x3": {"low": 0.25, "high": 0.75}},
    )
    refused(capsys, tmp_path, "--space", space, message=message)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--timeout", "nan"], "--timeout must be a finite number of seconds > 0, got nan"),
        (["--timeout", "inf"], "--timeout must be a finite number of seconds > 0, got inf"),
        (["--seed", str(2**32)], "--seed must be an integer from 0 to 4294967295"),
        (["--train-seed", "-1"], "--train-seed must be an integer from 0 to 4294967295"),
    ],
)
def test_numbers_out_of_range_on_the_command_line(tmp_path, capsys, flags, message):
    refused(capsys, tmp_path, "--space", write_space(tmp_path), *flags, message=message)


def test_dashboard_refresh_must_be_finite(tmp_path, capsys):
    assert main(["dashboard", "--storage", sqlite_url(tmp_path / "x.db"), "--refresh", "inf"]) == 2
    assert "--refresh must be a finite number of seconds" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


# ---------------------------------------------------------------------------- 5. two seeds


def test_the_sampler_seed_is_not_the_training_seed(tmp_path, capsys):
    space, db = write_space(tmp_path, n_trials=2), tmp_path / "s.db"
    assert run(capsys, "search", "--space", space, "--storage", sqlite_url(db))[0] == 0
    # Another sampler seed resumes the same study: what trials measure did not change.
    code, _, err = run(
        capsys,
        "search",
        "--space",
        space,
        "--storage",
        sqlite_url(db),
        "--seed",
        "7",
        "--n-trials",
        "3",
    )
    assert code == 0, err
    assert StudyInfo.read(load(db)).space["training"]["seed"] == 0
    # Another training seed measures something else: refused for this study.
    code, _, err = run(
        capsys, "search", "--space", space, "--storage", sqlite_url(db), "--train-seed", "7"
    )
    assert code == 2 and "different search space" in err


# ---------------------------------------------------------------------------- 6. interrupts


class InterruptedWhileCreating(optuna.samplers.RandomSampler):
    """Ctrl-C arrives after Optuna made the trial, before the objective starts."""

    def before_trial(self, study, trial):
        super().before_trial(study, trial)
        os.kill(os.getpid(), signal.SIGINT)


def test_an_interrupt_before_the_objective_starts_leaves_no_running_trial(tmp_path):
    setup = make_setup(parse_space(TINY))
    study = open_study(
        setup,
        storage=open_storage(sqlite_url(tmp_path / "s.db"), mode="write"),
        study_name="tiny",
        sampler=InterruptedWhileCreating(seed=0),
    )
    with pytest.raises(KeyboardInterrupt):
        run_search(study, Objective(setup, n_trials=4))
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["status"] == "failed"
    assert trial.user_attrs["failure_reason"] == "interrupted before training finished"


def test_an_interrupted_study_creation_is_completed_on_the_next_open(tmp_path, monkeypatch):
    setup = make_setup(parse_space(TINY))
    storage = open_storage(sqlite_url(tmp_path / "s.db"), mode="write")
    writes = []

    def interrupted_write(self, key, value):
        writes.append(key)
        if len(writes) == 3:
            raise KeyboardInterrupt
        original(self, key, value)

    original = optuna.Study.set_user_attr
    monkeypatch.setattr(optuna.Study, "set_user_attr", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        open_study(setup, storage=storage, study_name="tiny")
    monkeypatch.setattr(optuna.Study, "set_user_attr", original)
    half = optuna.load_study(study_name="tiny", storage=storage)
    assert "space_hash" not in half.user_attrs  # the hash is written last
    study = open_study(setup, storage=storage, study_name="tiny")
    assert StudyInfo.read(study) == setup.study_info


def test_a_study_with_trials_but_no_space_is_not_adopted(tmp_path):
    url = sqlite_url(tmp_path / "s.db")
    plain = optuna.create_study(storage=url, study_name="tiny", directions=["maximize", "minimize"])
    plain.add_trial(optuna.trial.create_trial(values=[0.5, 10.0]))
    with pytest.raises(StorageError, match="has trials but no sqzdse search space"):
        open_study(
            make_setup(parse_space(TINY)),
            storage=open_storage(url, mode="write"),
            study_name="tiny",
        )
