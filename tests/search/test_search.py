"""`sqzdse search` end to end on tiny proxies: real training, real SQLite files, real signals."""

import signal
import time

from optuna.trial import TrialState

from sqzdse.arch import ArchConfig, count_params
from sqzdse.model import build_model, count_model_params
from sqzdse.search._setup import sampler_seed
from tests.search.helpers import TINY, cli_process, load, run, trials_so_far, write_space


def test_search_records_complete_trials_by_the_contract(tmp_path, capsys):
    space = write_space(tmp_path)
    db = tmp_path / "s.db"
    code, out, err = run(capsys, "search", "--space", space, "--storage", f"sqlite:///{db}")
    assert code == 0, err
    study = load(db)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    assert study.metric_names == ["top1", "params"]  # digits has 10 classes: top-1 is used
    assert "accuracy objective: top-1, because the data set has 10 classes" in err
    assert study.user_attrs["objectives"] == [["top1", "maximize"], ["params", "minimize"]]
    for t in study.trials:
        cfg = ArchConfig.from_dict(t.user_attrs["arch"])
        # counted on the built network, not with the analytic count the search itself uses
        assert t.values[1] == t.user_attrs["params"] == count_model_params(build_model(cfg))
        assert 0 <= t.values[0] == t.user_attrs["top1"] <= 1
        assert t.user_attrs["status"] in ("ok", "reused")
        assert len(t.user_attrs["curve"]) == 1 and t.user_attrs["train_seconds"] > 0
    assert err.count("] trial ") == 4 and "eta" in err and "front" in err
    assert out.startswith("Pareto front (") and f"sqzdse dashboard --storage sqlite:///{db}" in out


def test_rerun_resumes_and_more_trials_extend(tmp_path, capsys):
    space = write_space(tmp_path)
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert run(capsys, "search", "--space", space, "--storage", db, "--n-trials", "2")[0] == 0
    code, _, err = run(capsys, "search", "--space", space, "--storage", db, "--n-trials", "2")
    assert code == 0 and "resuming: the study holds 2 trials" in err and "] trial " not in err
    code, _, err = run(capsys, "search", "--space", space, "--storage", db, "--n-trials", "3")
    assert code == 0 and err.count("] trial ") == 1
    assert len(load(tmp_path / "s.db").trials) == 3


def test_a_resumed_random_sampler_does_not_redraw_its_first_trials(tmp_path, capsys):
    wide = {
        "base_e": {"choices": [8, 16, 24, 32]},
        "incr_e": {"choices": [0, 8, 16]},
        "pct_3x3": {"choices": [0.25, 0.5, 0.75]},
        "freq": 2,
        "sr": {"choices": [0.25, 0.5]},
    }
    space = write_space(tmp_path, metaparameters=wide, training={**TINY["training"], "epochs": 1})
    db = f"sqlite:///{tmp_path / 's.db'}"
    for n in ("3", "6"):
        assert run(capsys, "search", "--space", space, "--storage", db, "--n-trials", n)[0] == 0
    params = [t.params for t in load(tmp_path / "s.db").trials]
    assert len(params) == 6
    # A resumed sampler seeded like the first run draws trial 3 as trial 0, 4 as 1 and 5 as 2.
    # (The space has 72 networks: a position repeating by chance is unlikely; seed 0 has none.)
    repeated = [(i + 3, i) for i in range(3) if params[i + 3] == params[i]]
    assert repeated == [], f"resumed trials redraw the first run's: {repeated}"


def test_sampler_seed_is_the_plain_seed_only_for_one_process_on_a_new_study():
    assert sampler_seed(7, trials_before=0, process=None) == 7
    resumed = sampler_seed(7, trials_before=3, process=None)
    assert resumed != 7 and resumed == sampler_seed(7, trials_before=3, process=None)
    workers = {sampler_seed(7, trials_before=0, process=str(i)) for i in (1, 2, 3)}
    assert len(workers) == 3 and 7 not in workers


def test_changed_space_is_refused(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert (
        run(capsys, "search", "--space", write_space(tmp_path), "--storage", db, "--n-trials", "1")[
            0
        ]
        == 0
    )
    changed = write_space(tmp_path, name="tiny", bypass="simple")
    code, _, err = run(capsys, "search", "--space", changed, "--storage", db)
    assert code == 2
    assert "study 'tiny' was created from a different search space" in err
    assert "Start a new study with --study tiny-2" in err
    code, _, err = run(
        capsys,
        "search",
        "--space",
        changed,
        "--storage",
        db,
        "--epochs",
        "2",
        "--study",
        "tiny-2",
        "--n-trials",
        "1",
    )
    assert code == 0


def test_duplicate_architectures_reuse_the_recorded_result(tmp_path, capsys):
    space = write_space(
        tmp_path,
        metaparameters={
            "base_e": {"choices": [8, 16]},
            "incr_e": 0,
            "pct_3x3": 0.5,
            "freq": 2,
            "sr": 0.25,
        },
        n_trials=6,
    )
    db = tmp_path / "s.db"
    code, out, _ = run(capsys, "search", "--space", space, "--storage", f"sqlite:///{db}")
    assert code == 0
    trials = load(db).trials
    trained = [t for t in trials if t.user_attrs["status"] == "ok"]
    reused = [t for t in trials if t.user_attrs["status"] == "reused"]
    assert len(trained) == 2 and len(reused) == 4
    by_number = {t.number: t for t in trials}
    for t in reused:
        source = by_number[t.user_attrs["reused_from"]]
        assert t.user_attrs["arch"] == source.user_attrs["arch"] and t.values == source.values
        # measured once per architecture: a reused trial carries its twin's latency
        assert t.user_attrs["latency_ms"] == source.user_attrs["latency_ms"]
        assert t.user_attrs["latency"] == source.user_attrs["latency"]
    for t in trained:
        latency = t.user_attrs["latency"]
        assert t.user_attrs["latency_ms"] == latency["median_ms"] > 0
        assert latency["threads"] == 1 and latency["p10_ms"] <= latency["p90_ms"]
    # The Pareto table gives each network one row, naming the trials that reused it.
    front = {t.number for t in load(db).best_trials}
    labels = [
        line.split("  ")[0] for line in out.splitlines()[2:] if line.strip() and line[0].isdigit()
    ]
    expected = [
        " ".join(
            [
                str(t.number),
                *(
                    f"+{r.number}"
                    for r in reused
                    if r.user_attrs["reused_from"] == t.number and r.number in front
                ),
            ]
        )
        for t in trained
        if t.number in front
    ]
    assert sorted(labels) == sorted(expected)
    assert out.startswith(f"Pareto front ({len(front)} trials, {len(expected)} networks;")


def test_constraint_keeps_over_budget_trials_from_training(tmp_path, capsys):
    small = count_params(
        ArchConfig.from_dict(dict(load_arch(tmp_path, capsys), base_e=8, incr_e=0, sr=0.25))
    )
    space = write_space(tmp_path, name="budget", constraints={"params": small}, n_trials=6)
    db = tmp_path / "b.db"
    assert run(capsys, "search", "--space", space, "--storage", f"sqlite:///{db}")[0] == 0
    trials = load(db, "budget").trials
    infeasible = [t for t in trials if t.state == TrialState.PRUNED]
    assert infeasible and all(t.user_attrs["status"] == "infeasible" for t in infeasible)
    for t in infeasible:
        assert t.user_attrs["params"] > small
        assert "not trained" in t.user_attrs["failure_reason"]
        assert "top1" not in t.user_attrs and "curve" not in t.user_attrs
        assert t.system_attrs["constraints:params_budget"] == t.user_attrs["params"] - small
    assert all(t.user_attrs["params"] <= small for t in trials if t.state == TrialState.COMPLETE)


def load_arch(tmp_path, capsys) -> dict:
    """The architecture dict the tiny space builds (through a one-trial search)."""
    db = tmp_path / "probe.db"
    run(
        capsys,
        "search",
        "--space",
        write_space(tmp_path, name="probe"),
        "--storage",
        f"sqlite:///{db}",
        "--n-trials",
        "1",
    )
    return load(db, "probe").trials[0].user_attrs["arch"]


def test_bad_cli_values_and_storage(tmp_path, capsys):
    space = write_space(tmp_path)
    code, _, err = run(capsys, "search", "--space", space, "--sampler", "cmaes")
    assert code == 2 and "--sampler: cmaes (CMA-ES) cannot handle several objectives" in err
    code, _, err = run(capsys, "search", "--space", space, "--epochs", "0")
    assert code == 2 and "--epochs must be >= 1, got 0" in err
    code, _, err = run(
        capsys,
        "search",
        "--space",
        space,
        "--study",
        "../x",
        "--storage",
        f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert code == 2 and "study name '../x' is not allowed" in err
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database")
    code, _, err = run(capsys, "search", "--space", space, "--storage", f"sqlite:///{junk}")
    assert code == 2 and "is not an SQLite database" in err
    assert junk.read_text() == "this is not a database"


def test_ctrl_c_and_sigterm_leave_no_running_trial_and_rerun_resumes(tmp_path, capsys):
    space = write_space(tmp_path, training=_slow_training(), n_trials=3)
    db = tmp_path / "s.db"
    args = ("search", "--space", space, "--storage", f"sqlite:///{db}")
    for number, signum in enumerate((signal.SIGINT, signal.SIGTERM)):
        proc = cli_process(*args, cwd=tmp_path)
        _wait_for_running_trial(db, proc, number=number)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        # 130, or death by SIGINT (a shell shows both as 130): CPython re-raises SIGINT at exit when
        # the interrupt passed through a nested PyRun_* call, whatever SystemExit code we chose.
        assert proc.returncode in (130, -signal.SIGINT), err
        assert "interrupted: the trial under way is recorded as failed" in err
        assert "Traceback" not in err
        trials = load(db).trials
        assert [t.state for t in trials] == [TrialState.FAIL] * (number + 1)
        assert trials[number].user_attrs["failure_reason"] == "interrupted before training finished"

    code, _, err = run(capsys, *args, "--n-trials", "1")
    assert code == 0 and "resuming: the study holds 2 trials" in err
    assert [t.state for t in load(db).trials][-1] == TrialState.COMPLETE


def _slow_training() -> dict:
    return {"resolution": 32, "epochs": 12, "train_per_class": 30, "device": "cpu"}  # seconds


def _wait_for_running_trial(db, proc, *, number: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if any(t.state == TrialState.RUNNING and t.number == number for t in trials_so_far(db)):
            time.sleep(1.0)  # let training start
            return
        time.sleep(0.3)
    raise AssertionError("no trial started")


def test_latency_can_be_an_objective(tmp_path, capsys):
    space = write_space(tmp_path, name="fast", objectives=["top1", "latency_ms"], n_trials=2)
    db = tmp_path / "l.db"
    assert run(capsys, "search", "--space", space, "--storage", f"sqlite:///{db}", "-q")[0] == 0
    study = load(db, "fast")
    assert study.metric_names == ["top1", "latency_ms"]
    for t in study.trials:
        assert t.values[1] == t.user_attrs["latency_ms"] > 0
