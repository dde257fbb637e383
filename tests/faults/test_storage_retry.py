"""The storage's database calls outlive real outages: a PostgreSQL server of the test's own,
restarted and stopped, and connections cut by a proxy; and the bound after which one message stops
the command."""

from __future__ import annotations

import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.errors import StorageError
from sqzdse.retry import StorageUnavailable, is_transient
from sqzdse.storage import open_storage
from tests.faults.servers import CuttingProxy


@pytest.fixture
def proxy(server):
    p = CuttingProxy(server.port)
    yield p
    p.close()


def _study(url: str, name: str, *, lines: list[str], retry: float = 30):
    storage = open_storage(url, mode="write", retry_seconds=retry)
    storage.outage.say = lines.append
    return optuna.create_study(study_name=name, storage=storage, directions=["maximize"])


def test_a_restart_is_waited_out_and_said_in_two_lines(server):
    lines: list[str] = []
    study = _study(server.url, "restart", lines=lines)
    study.enqueue_trial({"x": 0.5})
    server.stop()
    threading.Timer(2.0, server.start).start()  # back while the calls below wait
    trial = study.ask()  # made while the server was down
    study.tell(trial, trial.suggest_float("x", 0, 1))
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE]
    assert len(lines) == 2, lines
    assert lines[0].startswith("storage postgresql+psycopg://postgres@127.0.0.1:")
    assert "unreachable (" in lines[0] and "retrying for up to 30 s (--storage-retry)" in lines[0]
    assert "back after" in lines[1]


def test_cut_connections_are_replaced(server, proxy):
    lines: list[str] = []
    study = _study(proxy.url(), "cut", lines=lines)
    for i in range(6):
        trial = study.ask()
        if i % 2:
            assert proxy.cut() >= 1  # the pooled connection is reset under the storage
        study.tell(trial, trial.suggest_float("x", 0, 1))
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE] * 6


def test_past_the_bound_one_message_stops_and_nothing_stored_is_lost(server):
    lines: list[str] = []
    study = _study(server.url, "bound", lines=lines, retry=2)
    trial = study.ask()
    study.tell(trial, trial.suggest_float("x", 0, 1))
    server.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as caught:
            study.ask()
        assert 2 <= time.monotonic() - started < 15
    finally:
        server.start()
    message = str(caught.value)
    assert message.startswith("storage postgresql+psycopg://postgres@127.0.0.1:")
    assert "unreachable for 2 s" in message and "run the same command to resume" in message
    assert "\n" not in message
    again = optuna.load_study(study_name="bound", storage=open_storage(server.url))
    assert [t.state for t in again.get_trials()] == [TrialState.COMPLETE]


def test_what_retrying_cannot_mend_is_not_retried():
    import sqlalchemy.exc

    refused = sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
    full = sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database or disk is full"))
    bad = sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert is_transient(refused)
    assert not is_transient(full) and not is_transient(bad)
    assert issubclass(StorageUnavailable, StorageError)


def test_the_dashboards_reads_wait_out_a_restart_and_say_a_longer_outage(server):
    from sqzdse.dashboard.source import StudySource

    lines: list[str] = []
    study = _study(server.url, "board", lines=lines)
    trial = study.ask()
    study.tell(trial, trial.suggest_float("x", 0, 1))
    source = StudySource(server.url)
    source._storage.outage.say = lines.append
    before = source.version("board")
    server.stop()
    threading.Timer(2.0, server.start).start()
    assert source.version("board") == before  # waited out (readers: up to 10 s)
    server.stop()
    try:
        with pytest.raises(StorageError, match="unreachable for 10 s"):
            source.version("board")
    finally:
        server.start()
    assert source.version("board") == before  # and back once the server is


def test_an_outage_is_exit_code_1_a_users_mistake_2():
    assert StorageUnavailable.exit_code == 1 and StorageError.exit_code == 2
