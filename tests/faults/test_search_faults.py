"""`sqzdse search --workers 2` on a PostgreSQL server of the test's own, through real faults: the
server restarted mid-search, every connection cut, a worker killed. The search finishes, loses and
duplicates nothing, leaves nothing RUNNING and prints no traceback."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from tests.faults.servers import CuttingProxy, PrivatePostgres
from tests.search.helpers import cli_process, write_space

N_TRIALS = 10
# ~0.5 s a trial on one thread: the faults land while trials train and while they are told.
TRAINING = {"resolution": 16, "epochs": 3, "train_per_class": 20, "val_per_class": 4,
            "device": "cpu"}  # fmt: skip
WIDE = {"base_e": {"low": 8, "high": 64, "step": 8}, "incr_e": {"low": 0, "high": 32, "step": 8},
        "pct_3x3": 0.5, "freq": 2, "sr": {"choices": [0.25, 0.5]}}  # fmt: skip


def _search(tmp_path, url: str, name: str, *, grace: int = 20):
    space = write_space(tmp_path, name=name, metaparameters=WIDE, n_trials=N_TRIALS,
                        training=TRAINING)  # fmt: skip
    return cli_process(
        "search", "--space", space, "--storage", url, "--workers", 2, "--heartbeat-interval", 1,
        "--grace-period", grace, "--storage-retry", 60, cwd=tmp_path,
    )  # fmt: skip


def _finished(server: PrivatePostgres, name: str) -> list:
    """The study's finished trials, or none while the server is down or the study not made."""
    try:
        storage = optuna.storages.RDBStorage(
            server.url.replace("postgresql://", "postgresql+psycopg://"), skip_table_creation=True
        )
        trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
        storage.engine.dispose()
    except Exception:
        return []
    return [t for t in trials if t.state.is_finished()]


def _wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _failed(trials: list) -> list[int]:
    """Failed trials, but those a worker stepped back from when the last trials were already under
    way elsewhere (`SurplusTrial`: nothing was trained)."""
    return [
        t.number
        for t in trials
        if t.state == TrialState.FAIL
        and not t.user_attrs.get("failure_reason", "").startswith("not needed")
    ]


def _children(pid: int) -> list[int]:
    """The process ids of `pid`'s children, oldest first (Linux's /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(map(int, children))


def _check_study(server: PrivatePostgres, name: str) -> list:
    storage = optuna.storages.RDBStorage(
        server.url.replace("postgresql://", "postgresql+psycopg://"), skip_table_creation=True
    )
    trials = optuna.load_study(study_name=name, storage=storage).get_trials()
    storage.engine.dispose()
    states = [t.state for t in trials]
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == N_TRIALS
    assert len({t.number for t in trials}) == len(trials)  # no trial number twice
    return trials


def test_the_server_restarted_three_times_mid_search(tmp_path, server):
    proc = _search(tmp_path, server.url, "restarts")
    for restart in range(3):
        _wait_for(lambda n=restart: len(_finished(server, "restarts")) > 2 * n)
        server.restart(down_seconds=1.5)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert "unreachable (" in err and "back after" in err
    assert out.startswith("Pareto front")
    trials = _check_study(server, "restarts")
    # Nothing a worker trained was thrown away: no trial failed, but for a worker's surplus one.
    assert _failed(trials) == []


def test_every_connection_cut_again_and_again(tmp_path, server):
    proxy = CuttingProxy(server.port)
    try:
        proc = _search(tmp_path, proxy.url(), "cuts")
        _wait_for(lambda: len(_finished(server, "cuts")) >= 1)
        while proc.poll() is None and proxy.cuts < 12:
            proxy.cut()
            time.sleep(0.4)
        out, err = proc.communicate(timeout=300)
    finally:
        proxy.close()
    assert proxy.cuts >= 5
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    trials = _check_study(server, "cuts")
    assert _failed(trials) == []


def test_a_killed_worker_is_one_line_and_the_others_go_on(tmp_path, server):
    proc = _search(tmp_path, server.url, "killed", grace=3)
    _wait_for(lambda: len(_finished(server, "killed")) >= 1)
    workers = _children(proc.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 137  # the first worker's exit, as a shell would say it
    lines = [line for line in err.splitlines() if "was killed" in line]
    assert lines == [
        f"worker 1 (pid {workers[0]}) was killed by SIGKILL; the 1 other worker(s) go on"
    ]
    assert "Traceback" not in err, err
    assert out.startswith("Pareto front")
    # Its trial under way was failed once its heartbeat went stale, and retried by the other.
    trials = _check_study(server, "killed")
    assert len(_failed(trials)) <= 1
