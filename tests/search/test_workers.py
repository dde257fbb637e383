"""Many workers on one study (PostgreSQL and SQLite), crash safety, and storage hardening."""

import multiprocessing
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.errors import StorageError
from sqzdse.search._workers import threads_per_worker, worker_devices
from sqzdse.storage import open_storage
from tests import ci
from tests.search.helpers import cli_process, load, run, trials_so_far, write_space

PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_USERS = ("postgres", "root")  # trust authentication: the first that connects is used
WIDE = {
    "base_e": {"choices": [8, 16, 24, 32]},
    "incr_e": {"choices": [0, 8, 16]},
    "pct_3x3": {"choices": [0.25, 0.5]},
    "freq": 2,
    "sr": {"choices": [0.25, 0.5, 0.75]},
}


def postgres_user(connect=None) -> tuple[str | None, str]:
    """(the first of PG_USERS that connects to the test database, "") or (None, why none can).

    Only "psycopg is not installed" and a failed connection are reasons; any other exception is a
    bug and propagates.
    """
    try:
        import psycopg
    except ImportError as err:
        if connect is None:
            return None, f"psycopg is not installed ({err}); pip install -e '.[postgres]'"
        psycopg = None
    connect = connect or psycopg.connect
    connection_error = (ConnectionError, *((psycopg.OperationalError,) if psycopg else ()))
    reasons = []
    for user in PG_USERS:
        try:
            connect(
                f"host={PG_HOST} port={PG_PORT} user={user} dbname={PG_DATABASE}", connect_timeout=3
            ).close()
            return user, ""
        except connection_error as err:
            first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
            reasons.append(f"user {user}: {first_line}")
    return None, "; ".join(reasons)


def postgres_or_skip(env=None, connect=None) -> str:
    """The libpq user to reach the test database as. Without one the test is skipped with the exact
    reason, or fails when `CI` is "true": every machine of this project runs PostgreSQL there."""
    user, reason = postgres_user(connect)
    if user is not None:
        return user
    message = (
        f"no PostgreSQL server usable at {PG_HOST}:{PG_PORT} (database {PG_DATABASE}, "
        f"users {' or '.join(PG_USERS)}): {reason}"
    )
    ci.missing(message, on_ci="where the server must be running", env=env)


def pg_url(user: str, database: str = PG_DATABASE) -> str:
    return f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{database}"


class FakeConnection:
    def close(self) -> None:
        pass


def fake_connect(failing: dict[str, str]):
    """A `psycopg.connect` stand-in: users in `failing` are refused with their message."""

    def connect(conninfo: str, connect_timeout: int):
        user = dict(part.split("=") for part in conninfo.split())["user"]
        if user in failing:
            raise ConnectionError(failing[user])
        return FakeConnection()

    return connect


REFUSED = {
    user: f'connection to server at "{PG_HOST}", port {PG_PORT} failed: Connection refused'
    for user in PG_USERS
}


@pytest.mark.parametrize("env", [{}, {"CI": "false"}, {"CI": "1"}], ids=["no-CI", "false", "1"])
def test_postgres_missing_outside_ci_skips_with_the_reason(env):
    with pytest.raises(pytest.skip.Exception) as skipped:
        postgres_or_skip(env, fake_connect(REFUSED))
    assert str(skipped.value) == (
        "no PostgreSQL server usable at 127.0.0.1:5432 (database test, users postgres or root): "
        'user postgres: connection to server at "127.0.0.1", port 5432 failed: Connection '
        'refused; user root: connection to server at "127.0.0.1", port 5432 failed: Connection '
        "refused"
    )


def test_postgres_missing_on_ci_fails():
    with pytest.raises(pytest.fail.Exception) as failed:
        postgres_or_skip({"CI": "true"}, fake_connect(REFUSED))
    assert "Connection refused" in str(failed.value)
    assert str(failed.value).endswith("; CI=true, where the server must be running")


def test_postgres_user_is_the_first_that_connects():
    assert postgres_or_skip({"CI": "true"}, fake_connect({})) == "postgres"
    only_root = fake_connect({"postgres": 'FATAL:  role "postgres" does not exist'})
    assert postgres_or_skip({"CI": "true"}, only_root) == "root"


def test_postgres_check_lets_other_errors_through():
    def broken(conninfo, connect_timeout):
        raise TypeError("a bug, not a missing server")

    with pytest.raises(TypeError, match="a bug"):
        postgres_or_skip({}, broken)


def test_postgres_without_psycopg_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` raise ImportError
    with pytest.raises(pytest.skip.Exception, match="psycopg is not installed"):
        postgres_or_skip({})
    with pytest.raises(pytest.fail.Exception, match="psycopg is not installed"):
        postgres_or_skip({"CI": "true"})


def _check_all_complete(study: optuna.Study, n: int) -> None:
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == n
    assert len({t.number for t in trials}) == len(trials)
    assert all(
        t.values is not None and len(t.values) == 2 and None not in t.values for t in complete
    )
    assert all(t.state != TrialState.RUNNING for t in trials)


@pytest.mark.slow
def test_three_workers_on_postgresql_make_exactly_30_trials(tmp_path, capfd):
    url = pg_url(postgres_or_skip())
    name = f"pg-{uuid.uuid4().hex[:8]}"
    space = write_space(tmp_path, name=name, metaparameters=WIDE, n_trials=30)
    try:
        code, out, err = run(capfd, "search", "--space", space, "--storage", url, "--workers", "3")
        assert code == 0, err
        assert "starting 3 workers" in err
        assert {f"[worker {i}]" for i in (1, 2, 3)} <= {line[:10] for line in err.splitlines()}
        _check_all_complete(optuna.load_study(study_name=name, storage=_pg(url)), 30)
        assert out.startswith("Pareto front")
    finally:
        optuna.delete_study(study_name=name, storage=_pg(url))


def _pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://")


def _open_after(url: str, barrier) -> str:
    barrier.wait()
    try:
        open_storage(url, mode="write")
        return "ok"
    except StorageError as err:
        return str(err)


def _open_at_once(url: str, processes: int = 4) -> list[str]:
    """Results of `processes` processes opening `url` at the same moment."""
    with multiprocessing.Manager() as manager, multiprocessing.Pool(processes) as pool:
        barrier = manager.Barrier(processes)
        return pool.starmap(_open_after, [(url, barrier)] * processes)


@pytest.mark.slow
def test_processes_creating_one_new_database_at_once_all_open_it(tmp_path):
    # Unguarded, about half of such starts lost the race ("table studies already exists" on SQLite,
    # "duplicate key value violates unique constraint" on PostgreSQL).
    for i in range(3):
        assert _open_at_once(f"sqlite:///{tmp_path / f'new{i}.db'}") == ["ok"] * 4

    user = postgres_or_skip()
    import psycopg

    name = f"sqzdse_race_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user={user} dbname={PG_DATABASE}", autocommit=True
    ) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            assert _open_at_once(pg_url(user, name)) == ["ok"] * 4
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.mark.slow
def test_two_workers_on_one_sqlite_file_without_lock_errors(tmp_path, capfd):
    space = write_space(tmp_path, metaparameters=WIDE, n_trials=20)
    db = tmp_path / "s.db"
    code, _, err = run(
        capfd, "search", "--space", space, "--storage", f"sqlite:///{db}", "--workers", "2"
    )
    assert code == 0, err
    assert "locked" not in err and "Traceback" not in err
    _check_all_complete(load(db), 20)


@pytest.mark.slow
def test_sigkilled_worker_loses_nothing_and_its_trial_is_retried(tmp_path):
    space = write_space(
        tmp_path,
        n_trials=3,
        training={"resolution": 32, "epochs": 30, "train_per_class": 30, "device": "cpu"},
    )  # ~4 s a trial
    db = tmp_path / "s.db"
    args = (
        "search",
        "--space",
        space,
        "--storage",
        f"sqlite:///{db}",
        "--heartbeat-interval",
        "1",
        "--grace-period",
        "3",
    )
    first = cli_process(*args, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it in its second trial: one trial is finished
        assert first.poll() is None, first.communicate()
        trials = trials_so_far(db)
        if any(t.number == 1 and t.state == TrialState.RUNNING for t in trials):
            break
        time.sleep(0.2)
    time.sleep(1.5)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    before = load(db).trials
    assert before[0].state == TrialState.COMPLETE and before[1].state == TrialState.RUNNING

    second = cli_process(*args, cwd=tmp_path)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    trials = load(db).trials
    assert trials[0].user_attrs == before[0].user_attrs and trials[0].values == before[0].values
    assert trials[1].state == TrialState.FAIL
    retries = [
        t
        for t in trials
        if optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == 1
    ]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == trials[1].params
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3


def test_worker_devices_and_threads():
    assert worker_devices("cpu", 3) == ["cpu"] * 3
    assert worker_devices("cuda:1", 2) == ["cuda:1", "cuda:1"]
    assert threads_per_worker(4, cores=2) == 1 and threads_per_worker(2, cores=16) == 8


# ---------------------------------------------------------------------------- hardening


def test_truncated_sqlite_file_is_refused_and_left_alone(tmp_path, capsys):
    db = tmp_path / "s.db"
    space = write_space(tmp_path)
    assert (
        run(capsys, "search", "--space", space, "--storage", f"sqlite:///{db}", "--n-trials", "1")[
            0
        ]
        == 0
    )
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    code, _, err = run(capsys, "search", "--space", space, "--storage", f"sqlite:///{db}")
    assert code == 2 and f"{db} is damaged" in err and "restore it from a copy" in err
    assert db.read_bytes() == data[: len(data) // 3]


def test_read_only_studies_folder(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a read-only file system here: {mounted.stderr.strip()}")
    try:
        code, _, err = run(
            capsys,
            "search",
            "--space",
            write_space(tmp_path),
            "--storage",
            f"sqlite:///{folder}/s.db",
        )
        assert code == 2
        assert f"folder {folder} is not writable; give a writable --storage" in err
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    assert list(folder.iterdir()) == []


def test_unreachable_postgresql_is_one_clear_message(tmp_path, capsys):
    code, _, err = run(
        capsys,
        "search",
        "--space",
        write_space(tmp_path),
        "--storage",
        "postgresql://nobody:secret@127.0.0.1:1/none",
    )
    assert code == 2 and err.startswith("sqzdse: error: cannot open storage postgresql")
    assert "secret" not in err and "nobody:***@" in err and len(err.splitlines()) == 1


def test_opening_for_reading_never_creates_a_database(tmp_path):
    with pytest.raises(StorageError, match="no such file"):
        open_storage(f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()


def test_study_names_with_path_characters_write_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("../x", "a/b", ".hidden", ""):
        code, _, err = run(capsys, "search", "--space", write_space(tmp_path), "--study", name)
        assert code == 2 and f"study name {name!r} is not allowed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_workers_auto_is_one_on_the_cpu_and_workers_per_gpu_on_each_gpu(monkeypatch):
    import torch

    from sqzdse.errors import SqzdseError
    from sqzdse.search import WORKERS_PER_GPU, resolve_workers

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert [resolve_workers("auto", d) for d in ("auto", "cpu", "cuda", "cuda:1")] == [1, 1, 1, 1]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_workers("auto", "cpu") == 1
    assert resolve_workers("AUTO", "auto") == resolve_workers("auto", "cuda") == 2 * WORKERS_PER_GPU
    assert resolve_workers("auto", "cuda:1") == WORKERS_PER_GPU
    assert resolve_workers("3", "cuda") == resolve_workers(3, "cpu") == 3
    for bad in ("0", "-2", "many", "1.5"):
        with pytest.raises(SqzdseError, match="--workers must be"):
            resolve_workers(bad, "cpu")
    # auto workers spread over the GPUs as an explicit count does
    assert (
        worker_devices("cuda", resolve_workers("auto", "cuda")).count("cuda:1") == WORKERS_PER_GPU
    )


def test_workers_flag_is_checked(tmp_path, capfd):
    space = write_space(tmp_path)
    code, _, err = run(
        capfd,
        "search",
        "--space",
        space,
        "--storage",
        f"sqlite:///{tmp_path}/x.db",
        "--workers",
        "0",
    )
    assert code != 0 and "--workers must be >= 1 or auto, got 0" in err
