"""`sqzdse fidelity` end to end on a real SQLite file: report, resume, reuse, interruption."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.errors import SqzdseError
from sqzdse.fidelity import _store
from sqzdse.fidelity._plan import RunRole
from tests.fidelity.test_plan import tiny_plan
from tests.search.helpers import cli_process, run, trials_so_far, write_space
from tests.search.test_workers import _pg, pg_url, postgres_or_skip

STUDY = "tiny-fidelity"
# 3 networks, 2 proxy seeds (1 epoch), 1 reference seed (2 epochs): 9 runs of a second or less.
ARGS = ("--archs", 3, "--proxy-seeds", 2, "--reference-epochs", 2)


@pytest.fixture
def space(tmp_path):
    return write_space(tmp_path)


def fidelity(capsys, space, db, *args):
    return run(capsys, "fidelity", "--space", space, "--storage", f"sqlite:///{db}", *args)


def finished(db):
    return [t for t in trials_so_far(db, STUDY) if t.state == TrialState.COMPLETE]


def test_reports_every_promised_field_and_a_second_run_trains_nothing(
    capsys, space, tmp_path, one_thread
):
    db = tmp_path / "f.db"
    code, out, err = fidelity(capsys, space, db, *ARGS, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert len(report["networks"]) == 3 and report["complete"]
    for network in report["networks"]:
        assert len(network["proxy_top1_by_seed"]) == 2
        assert network["proxy_top1"] == pytest.approx(sum(network["proxy_top1_by_seed"]) / 2)
        assert 0 <= network["reference_top1"] <= 1
        assert network["params"] > 0 and network["macs"] > 0
        assert network["proxy_seconds"] > 0 and network["reference_seconds"] > 0
    assert set(report["kendall_tau"]) >= {"proxy", "params", "macs", "seed_to_seed", "within_size"}
    assert report["kendall_tau"]["params"] == pytest.approx(1.0) or isinstance(
        report["kendall_tau"]["params"], float
    )
    assert report["reference"]["epochs"] == 2 and report["reference"]["train_per_class"] is None
    assert "[9/9] reference network 3/3 seed 0" in err and "eta" in err
    assert len(finished(db)) == 9

    code, again, err = fidelity(capsys, space, db, *ARGS, "--json")
    assert code == 0 and "9 runs, 9 already stored" in err
    assert json.loads(again) == report  # recomputed from the same stored runs
    assert len(trials_so_far(db, STUDY)) == 9  # nothing trained again

    code, text, _ = fidelity(capsys, space, db, *ARGS)
    assert "parameter count" in text and text.strip().splitlines()[-1].startswith("verdict: ")


def test_another_proxy_setting_reuses_the_stored_reference_runs(
    capsys, space, tmp_path, one_thread
):
    db = tmp_path / "f.db"
    assert fidelity(capsys, space, db, *ARGS, "-q")[0] == 0
    code, _, err = fidelity(capsys, space, db, *ARGS, "--proxy-epochs", 2)
    assert code == 0 and "9 runs, 3 already stored" in err  # the 3 reference runs
    assert len(finished(db)) == 15


def test_a_run_killed_mid_reference_resumes_without_retraining_finished_runs(
    capsys, space, tmp_path, one_thread
):
    db = tmp_path / "f.db"
    # The reference trains 6 epochs on every training image (seconds a run), so a kill lands
    # inside it even when reading the study between polls is slow on a busy machine.
    slow = (*ARGS, "--reference-train-per-class", 0, "--reference-epochs", 6)
    slow += ("--heartbeat-interval", 1)
    proc = cli_process(
        "fidelity",
        "--space",
        space,
        "--storage",
        f"sqlite:///{db}",
        *slow,
        "--grace-period",
        2,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
        t.user_attrs.get("role") == "reference" for t in finished(db)
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    before = {t.number: t.user_attrs["run_key"] for t in finished(db)}
    assert 7 <= len(before) < 9, "the kill should fall inside the reference runs"
    time.sleep(2.5)  # past the grace period: the run under way is dead
    code, out, err = fidelity(capsys, space, db, *slow, "--grace-period", 2, "--json")
    assert code == 0, err
    assert f"{len(before)} already stored" in err
    after = finished(db)
    assert Counter(t.user_attrs["run_key"] for t in after) == Counter(
        {key: 1 for key in {t.user_attrs["run_key"] for t in after}}
    )  # every run trained once
    assert len(after) == 9 and all(
        next(t for t in after if t.number == n).user_attrs["run_key"] == k
        for n, k in before.items()
    )
    assert json.loads(out)["complete"]


def test_ctrl_c_gives_the_run_back_and_exits_130(capsys, space, tmp_path, one_thread):
    db = tmp_path / "f.db"
    proc = cli_process(
        "fidelity", "--space", space, "--storage", f"sqlite:///{db}", *ARGS, cwd=tmp_path
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(finished(db)) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (130, -signal.SIGINT), err
    assert "interrupted: the run under way is given back" in err
    trials = trials_so_far(db, STUDY)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    code, _, err = fidelity(capsys, space, db, *ARGS, "-q")
    assert code == 0 and len(finished(db)) == 9


def test_two_processes_claiming_one_run_leave_it_to_the_first(tmp_path):
    storage = f"sqlite:///{tmp_path / 'f.db'}"
    study = _store.open_fidelity_study(optuna.storages.RDBStorage(storage), "s")
    run_ = tiny_plan().runs()[0]
    first = _store.claim(study, run_, host="a")
    assert first is not None and _store.claim(study, run_, host="b") is None
    assert _store.running_keys(study) == {run_.key}
    other = tiny_plan().runs()[1]
    assert _store.claim(study, other, host="b") is not None and other.role is RunRole.PROXY


def test_a_study_another_process_made_ours_meanwhile_opens(tmp_path, monkeypatch):
    """The race CI met with two `retrain --front` processes: the second looked at the new study
    before the first marked it, then saw the first's mark and claimed run and took it for
    another tool's study."""
    storage = f"sqlite:///{tmp_path / 'f.db'}"
    first = _store.open_fidelity_study(storage, "s")
    assert _store.claim(first, tiny_plan().runs()[0], host="a") is not None
    looks = []
    real = optuna.Study.user_attrs.fget

    def first_look_sees_nothing(study):
        looks.append(study.study_name)
        return {} if len(looks) == 1 else real(study)

    monkeypatch.setattr(optuna.Study, "user_attrs", property(first_look_sees_nothing))
    assert _store.open_fidelity_study(storage, "s").study_name == "s"
    assert len(looks) == 2
    monkeypatch.undo()
    search = optuna.create_study(storage=storage, study_name="search")
    search.set_user_attr("space", {})
    with pytest.raises(SqzdseError, match="is not a fidelity study"):
        _store.open_fidelity_study(storage, "search")


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
def test_a_claim_whose_process_dies_before_its_heartbeat_thread_goes_stale(tmp_path):
    """The hang CI once met: killed between claiming a run and starting `Heartbeat`, a process
    left a RUNNING trial without any heartbeat, which Optuna never fails."""
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{tmp_path / 'f.db'}", heartbeat_interval=1, grace_period=1
    )
    study = _store.open_fidelity_study(storage, "s")
    run_ = tiny_plan().runs()[0]
    assert _store.claim(study, run_, host="dead") is not None  # and no Heartbeat thread
    deadline = time.monotonic() + 10  # the storage's clock counts whole seconds
    while _store.running_keys(study) and time.monotonic() < deadline:
        time.sleep(0.5)
        optuna.storages.fail_stale_trials(study)
    assert _store.running_keys(study) == set()
    assert _store.claim(study, run_, host="alive") is not None


def test_refuses_a_search_study_and_bad_settings_with_one_message(capsys, space, tmp_path):
    db = tmp_path / "f.db"
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name="searched")
    study.set_user_attr("space_hash", "abc")
    code, _, err = fidelity(capsys, space, db, *ARGS, "--study", "searched")
    assert code == 2 and "study 'searched' is not a fidelity study" in err
    code, _, err = fidelity(capsys, space, db, *ARGS, "--reference-val-per-class", -1)
    assert code == 2 and "reference val per class: expected an integer >= 0" in err
    code, _, err = fidelity(capsys, space, db, "--archs", 99)
    assert code == 2 and "only 8 distinct feasible networks" in err
    code, _, err = fidelity(capsys, space, db, "--grace-period", 5, "--heartbeat-interval", 5)
    assert code == 2 and "--grace-period (5) must exceed --heartbeat-interval (5)" in err
    assert [s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{db}")] == [
        "searched"
    ]  # a refused command writes nothing


def test_two_machines_share_one_fidelity_run_on_postgresql(space, tmp_path):
    url = pg_url(postgres_or_skip())
    study = f"fid-{uuid.uuid4().hex[:8]}"
    args = ("fidelity", "--space", space, "--storage", url, "--study", study, *ARGS, "--json")
    try:
        procs = [cli_process(*args, cwd=tmp_path) for _ in range(2)]
        outputs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
        reports = [json.loads(out) for out, _ in outputs]
        assert reports[0] == reports[1] and reports[0]["complete"]
        stored = optuna.load_study(study_name=study, storage=_pg(url))
        done = [t for t in stored.trials if t.state == TrialState.COMPLETE]
        assert len(done) == 9  # every run trained once, by one of the two
        assert len({t.user_attrs["run_key"] for t in done}) == 9
        # One progress line per run trained, from whichever process trained it.
        lines = [line for _, err in outputs for line in err.splitlines() if line.startswith("[")]
        assert len(lines) == 9, lines
    finally:
        optuna.delete_study(study_name=study, storage=_pg(url))
