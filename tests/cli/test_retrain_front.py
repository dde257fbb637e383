"""`sqzdse retrain --front` / `--trials` / `--baselines` end to end on real storages: the report,
the blocks readers see, resuming after a kill, two processes sharing one front on PostgreSQL, and
the test split that nothing choosing a network reads."""

from __future__ import annotations

import contextlib
import json
import signal
import time
import uuid
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.data import _core
from sqzdse.front import runs_study_name
from tests.search.helpers import cli_process, run, write_space
from tests.search.test_workers import _pg, pg_url, postgres_or_skip

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py

# The published presets' parameter counts at 10 classes (README, `sqzdse count`).
V10_PARAMS, V11_PARAMS = 740_554, 727_626
RETRAIN = ("--epochs", 1, "--seeds", 2, "--train-per-class", 20)
# At 32 px, where the presets' pools fit (v1.0's third pool sees a 3x3 map); 16 px would not.
TRAINING = {"resolution": 32, "epochs": 1, "train_per_class": 8, "val_per_class": 4}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("front")
    space = write_space(folder, name="front", n_trials=6, training=TRAINING)
    url = f"sqlite:///{folder / 'f.db'}"
    from sqzdse.cli import main

    assert main(["search", "--space", str(space), "--storage", url, "-q"]) == 0
    return folder, url


def copy_of(searched, tmp_path) -> str:
    """A private copy of the searched study (each test retrains into its own file)."""
    folder, _ = searched
    target = tmp_path / "f.db"
    target.write_bytes((folder / "f.db").read_bytes())
    return f"sqlite:///{target}"


def completed_runs(url: str, study: str = "front") -> list:
    name = runs_study_name(study)
    storage = _pg(url) if url.startswith("postgresql") else url
    if name not in optuna.get_all_study_names(storage):
        return []
    runs = optuna.load_study(study_name=name, storage=storage)
    return [t for t in runs.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]


def test_front_and_baselines_report_both_splits_and_record_blocks(searched, tmp_path, capsys):
    from sqzdse.analysis import load_trials

    url = copy_of(searched, tmp_path)
    study = optuna.load_study(study_name="front", storage=url)
    code, out, err = run(
        capsys, "retrain", "--storage", url, "--front", "--baselines", "v1.0,v1.1", *RETRAIN,
        "--json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    # digits, 60/20/20: every training image but --train-per-class's 20; the study's 4 per class
    assert report["splits"] == {"train": 200, "val": 40, "test": 359}
    assert report["seeds"] == [0, 1]
    names = [n["name"] for n in report["networks"]]
    front = sorted({t.number for t in study.best_trials})
    assert names[-2:] == ["v1.0", "v1.1"]
    assert {int(n) for n in names[:-2]} <= set(front)  # distinct networks of the front
    by_name = {n["name"]: n for n in report["networks"]}
    assert by_name["v1.0"]["params"] == V10_PARAMS and by_name["v1.1"]["params"] == V11_PARAMS
    assert "proxy_top1" not in by_name["v1.1"]
    for n in report["networks"]:
        assert len(n["test_top1_by_seed"]) == 2
        assert n["test_top1"] == pytest.approx(sum(n["test_top1_by_seed"]) / 2)
        assert 0 <= n["test_top5"] <= 1 and n["test_top5"] >= n["test_top1"]
    assert len(completed_runs(url)) == 2 * len(names)  # one run per network x seed
    assert "epoch   1/1" in err and f"[{2 * len(names)}/{2 * len(names)}]" in err
    # The blocks readers see: the trials' retrained columns, the baselines' own attributes.
    study = optuna.load_study(study_name="front", storage=url)
    trial = names[0]
    block = study.user_attrs[f"retrained:{trial}"]
    assert block["test_top1"] == by_name[trial]["test_top1"]
    assert block["splits"]["test"] == 359 and block["weights"]["source"] == "retrained"
    assert study.user_attrs["retrained_baseline:v1.1"]["test_top1"] == by_name["v1.1"]["test_top1"]
    row = load_trials(url).set_index("number").loc[int(trial)]
    assert row["retrained_test_top1"] == block["test_top1"]
    assert row["retrained_top1"] == by_name[trial]["val_top1"]
    # The runs' study belongs to the search study: a storage of one search still needs no --study.
    assert run(capsys, "export", "--storage", url, "-o", tmp_path / "t.csv")[0] == 0


def test_a_second_run_trains_nothing_and_prints_the_table_with_tau(searched, tmp_path, capsys):
    url = copy_of(searched, tmp_path)
    args = ("retrain", "--storage", url, "--trials", "0,1,2", *RETRAIN)
    assert run(capsys, *args)[0] == 0
    before = len(completed_runs(url))
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert len(completed_runs(url)) == before == 6
    assert "6 already stored" in err and "epoch   1/1" not in err
    assert "Kendall tau, proxy top-1 vs test top-1 over the retrained trials: " in out
    assert "needs two or more" not in out  # three trials: a value, or ties said as such
    for number in (0, 1, 2):
        assert f"trial {number}" in out
    # The default peak learning rate given is the same training; another one trains anew.
    same = ("retrain", "--storage", url, "--trials", "0", "--seeds", 1, *RETRAIN[:2], *RETRAIN[4:])
    assert run(capsys, *same, "--lr", "0.003")[0] == 0
    assert len(completed_runs(url)) == 6
    code, _, err = run(capsys, *same, "--lr", "0.01")
    assert code == 0, err
    assert len(completed_runs(url)) == 7 and "peak learning rate 0.01" in err
    study = optuna.load_study(study_name="front", storage=url)
    assert study.user_attrs["retrained:0"]["settings"]["lr"] == 0.01


def test_a_killed_retraining_resumes_without_retraining_finished_runs(searched, tmp_path):
    url = copy_of(searched, tmp_path)
    args = (
        "retrain", "--storage", url, "--trials", "0,1,2", "--baselines", "v1.1",
        "--epochs", 2, "--seeds", 2, "--heartbeat-interval", 1, "--grace-period", 2,
    )  # fmt: skip
    proc = cli_process(*args, cwd=tmp_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(completed_runs(url)) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    before = {t.user_attrs["run_key"]: t.number for t in completed_runs(url)}
    assert 2 <= len(before) < 8, "the kill should fall between the runs"
    time.sleep(2.5)  # past the grace period: the run under way is dead
    again = cli_process(*args, "--json", cwd=tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"{len(before)} already stored" in err
    after = completed_runs(url)
    assert Counter(t.user_attrs["run_key"] for t in after) == Counter(
        {t.user_attrs["run_key"]: 1 for t in after}
    )  # every run trained once
    assert len(after) == 8
    assert all(next(t for t in after if t.number == n).user_attrs["run_key"] == k
               for k, n in before.items())  # fmt: skip
    assert [n["name"] for n in json.loads(out)["networks"]] == ["0", "1", "2", "v1.1"]


def test_ctrl_c_stops_a_process_waiting_for_anothers_run(searched, tmp_path):
    url = copy_of(searched, tmp_path)
    args = ("retrain", "--storage", url, "--baselines", "v1.1", "--epochs", 40, "--seeds", 1,
            "--train-per-class", 20)  # fmt: skip
    training = cli_process(*args, cwd=tmp_path)
    deadline = time.monotonic() + 120
    runs = runs_study_name("front")
    while time.monotonic() < deadline:
        with contextlib.suppress(KeyError):
            held = optuna.load_study(study_name=runs, storage=url).get_trials(deepcopy=False)
            if any(t.state == TrialState.RUNNING for t in held):
                break
        time.sleep(0.1)
    waiting = cli_process(*args, cwd=tmp_path)
    header = waiting.stderr.readline()  # then it finds its only run held by the other, and waits
    assert header.startswith("retraining 1 networks"), header
    time.sleep(1)
    waiting.send_signal(signal.SIGINT)
    _, err = waiting.communicate(timeout=10)  # before, it slept on until the other finished
    still_training = training.poll() is None
    training.communicate(timeout=300)
    assert waiting.returncode == 130, err
    assert "interrupted" in err
    assert still_training, "the other process finished first: the test proves nothing"
    assert training.returncode == 0 and len(completed_runs(url)) == 1


def test_two_processes_share_one_front_on_postgresql(tmp_path, capsys):
    url = pg_url(postgres_or_skip())
    study = f"front-{uuid.uuid4().hex[:8]}"
    space = write_space(tmp_path, name="front", n_trials=4, training=TRAINING)
    artifacts = ("--artifacts", tmp_path / "artifacts")
    try:
        code, _, err = run(
            capsys, "search", "--space", space, "--storage", url, "--study", study, *artifacts,
            "-q",
        )  # fmt: skip
        assert code == 0, err
        args = ("retrain", "--storage", url, "--study", study, "--front", "--baselines", "v1.1",
                *RETRAIN, *artifacts, "--json")  # fmt: skip
        procs = [cli_process(*args, cwd=tmp_path) for _ in range(2)]
        outputs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
        reports = [json.loads(out) for out, _ in outputs]
        assert reports[0]["networks"] == reports[1]["networks"]
        done = completed_runs(url, study)
        assert len(done) == 2 * len(reports[0]["networks"])  # every run trained once
        assert len({t.user_attrs["run_key"] for t in done}) == len(done)
        lines = [line for _, err in outputs for line in err.splitlines() if line.startswith("[")]
        assert len(lines) == len(done), lines  # one line per run, by whichever process trained it
    finally:
        for name in (study, runs_study_name(study)):
            with contextlib.suppress(KeyError):  # not created: the test failed before
                optuna.delete_study(study_name=name, storage=_pg(url))


def test_nothing_that_chooses_a_network_reads_the_test_split(tmp_path, capsys, monkeypatch):
    def refuse(spec):
        raise AssertionError(f"the test split of {spec.name} was read")

    monkeypatch.setattr(_core, "_read_test", refuse)
    _core.clear_cache()
    space = write_space(
        tmp_path,
        name="guard",
        n_trials=3,
        training={"resolution": 16, "epochs": 3, "train_per_class": 8, "val_per_class": 4},
        fidelity={"min_epochs": 1, "eta": 3},  # successive halving: rungs at 1 epoch
    )
    url = f"sqlite:///{tmp_path / 'g.db'}"
    code, out, err = run(capsys, "search", "--space", space, "--storage", url)
    assert code == 0, err
    # The header says where the accuracies come from (digits: 4 per class of 10 classes).
    assert (
        "measured on 40 validation images, one of three per-class splits; the test split is "
        "never read" in out + err
    )
    code, _, err = run(
        capsys, "fidelity", "--space", space, "--storage", f"sqlite:///{tmp_path / 'fid.db'}",
        "--archs", 3, "--proxy-seeds", 1, "--reference-epochs", 4,
        "--reference-train-per-class", 8, "-q",
    )  # fmt: skip
    assert code == 0, err
    # The guard can fail: retraining reads the test split, and is refused here.
    with pytest.raises(AssertionError, match="the test split of digits was read"):
        from sqzdse.cli import main

        main(["retrain", "--storage", url, "--trials", "0", "--epochs", 1, "--seeds", 1])


@pytest.mark.parametrize(
    "args, message",
    [
        (("--trial", 0, "--front"), "give one of --trial, --front, --trials; got --trial and"),
        ((), "say what to retrain: --trial N, --front, --trials 3,7,12 or --baselines"),
        (("--front", "--baselines", "v2"), "--baselines: unknown 'v2'; valid: v1.0, v1.1"),
        (("--trials", "0,99"), "--trials: study 'front' has trials 0 to 5, not 99"),
        (("--trial", 0, "--json"), "--baselines and --json go with --front or --trials"),
        (("--trials", "a,b"), "expected trial numbers like 3,7,12, got 'a,b'"),
    ],
)
def test_refusals_name_the_flag(searched, tmp_path, capsys, args, message):
    url = copy_of(searched, tmp_path)
    code, out, err = run(capsys, "retrain", "--storage", url, *args)
    assert code != 0 and message in err and "Traceback" not in err
    assert not completed_runs(url)
