"""A disk that fills while a study, its weights or an export is written: a real, small tmpfs
mounted by the test. One clear line, the study intact and readable, nothing half-written."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests import ci
from tests.search.helpers import run, write_space

TRAINING = {"resolution": 16, "epochs": 1, "train_per_class": 8, "val_per_class": 4,
            "device": "cpu"}  # fmt: skip


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], capture_output=True
    )
    if done.returncode != 0:
        ci.missing(
            f"cannot mount a small tmpfs here ({done.stderr.decode().strip()})",
            on_ci="where the tests run as root",
        )
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Fill `disk` to its last byte; the filler file, to remove to free the space."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    return filler


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".tmp", "-journal"))
                  or ".tmp." in p.name)  # fmt: skip


def test_a_search_on_a_full_disk_stops_in_one_line_and_resumes(tmp_path, small_disk, capsys):
    space = write_space(tmp_path, name="full", n_trials=2, training=TRAINING)
    db = small_disk / "full.db"
    url = f"sqlite:///{db}"
    beats = ("--heartbeat-interval", 1, "--grace-period", 2)
    assert run(capsys, "search", "--space", space, "--storage", url, *beats)[0] == 0
    filler = fill(small_disk)
    code, _, err = run(capsys, "search", "--space", space, "--storage", url, "--n-trials", 4,
                       *beats)  # fmt: skip
    assert code == 1
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("sqzdse: error:")]
    assert line.startswith(f"sqzdse: error: storage {url}: the disk is full; the study is intact")
    assert line.endswith("free some space and run the same command to resume")
    # Intact and readable, with what it held.
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    before = optuna.load_study(study_name="full", storage=url).get_trials()
    assert sum(t.state == TrialState.COMPLETE for t in before) == 2
    filler.unlink()
    code, _, err = run(capsys, "search", "--space", space, "--storage", url, "--n-trials", 4,
                       *beats)  # fmt: skip
    assert code == 0, err
    after = optuna.load_study(study_name="full", storage=url).get_trials()
    assert sum(t.state == TrialState.COMPLETE for t in after) == 4
    assert TrialState.RUNNING not in [t.state for t in after]
    assert leftovers(small_disk) == []


def test_weights_on_a_full_disk_leave_the_trial_complete_and_no_partial_file(
    tmp_path, small_disk, capsys
):
    space = write_space(tmp_path, name="w", n_trials=2, training=TRAINING)
    url = f"sqlite:///{tmp_path / 'w.db'}"  # the study has room; its weights do not
    store = small_disk / "weights"
    store.mkdir()
    fill(small_disk)
    code, _, err = run(capsys, "search", "--space", space, "--storage", url, "--artifacts",
                       store, "--save-weights", "all")  # fmt: skip
    assert code == 0, err
    trials = optuna.load_study(study_name="w", storage=url).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for t in trials:
        assert "weights" not in t.user_attrs
        assert t.user_attrs["weights_error"].startswith("weights not stored: OSError")
        assert "No space left on device" in t.user_attrs["weights_error"]
    assert os.listdir(store) == []  # no half-written weights


def test_an_export_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, small_disk, capsys):
    space = write_space(tmp_path, name="e", n_trials=1, training=TRAINING)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    assert (
        run(capsys, "search", "--space", space, "--storage", url, "--save-weights", "all")[0] == 0
    )
    fill(small_disk)
    for argv, name in (
        (("export", "--storage", url, "-o", small_disk / "t.csv"), "t.csv"),
        (("export-model", "--storage", url, "--trial", 0, "-o", small_disk / "m.onnx"), "m.onnx"),
    ):
        code, _, err = run(capsys, *argv)
        assert code != 0, err
        assert "Traceback" not in err
        (line,) = [line for line in err.splitlines() if line.startswith("sqzdse: error:")]
        assert "No space left on device" in line, line
        assert sorted(os.listdir(small_disk)) == ["filler"], name
