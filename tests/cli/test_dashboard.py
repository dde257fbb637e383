"""`sqzdse dashboard` and what it stands on: read-only storage, clear errors, the WSGI entry."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import socket
import sys
from pathlib import Path

import dash
import optuna
import pytest
from optuna.storages._rdb import models
from optuna.trial import TrialState
from sqlalchemy import event

from sqzdse.cli import main
from sqzdse.dashboard import create_app, figures
from sqzdse.dashboard.source import StudySource
from sqzdse.errors import StorageError
from sqzdse.storage import open_storage, single_storage_in
from sqzdse.testing import add_trial, create_study, fast_sqlite_storage, small_arch, sqlite_url

# DataTable is the table this project chose (dash-ag-grid would be a new dependency).
pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table.DataTable will be removed:DeprecationWarning"
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "micro.db"
    study = create_study(sqlite_url(path), study_name="micro")
    add_trial(study, top1=0.8, top5=0.95)
    add_trial(study, arch=small_arch(sr=0.25), top1=0.85, top5=0.97)
    add_trial(study, status="failed")
    return path


@pytest.fixture
def served(monkeypatch):
    """Replace Dash.run: record how the command would serve instead of serving."""
    calls = []
    monkeypatch.setattr(dash.Dash, "run", lambda self, **kwargs: calls.append(kwargs))
    return calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fingerprint(path: Path) -> tuple:
    siblings = sorted(p.name for p in path.parent.iterdir())
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, siblings


# ---------------------------------------------------------------------------- the command


def test_serves_on_localhost_by_default_without_warning(db, served, capsys):
    port = free_port()
    assert main(["dashboard", "--storage", sqlite_url(db), "--port", str(port)]) == 0
    assert served == [{"host": "127.0.0.1", "port": port, "debug": False}]
    err = capsys.readouterr().err
    assert f"http://127.0.0.1:{port}/" in err and "read-only" in err
    assert "authentication" not in err


def test_other_hosts_get_a_warning(db, served, capsys):
    assert (
        main(
            [
                "dashboard",
                "--storage",
                sqlite_url(db),
                "--host",
                "0.0.0.0",
                "--port",
                str(free_port()),
            ]
        )
        == 0
    )
    assert served[0]["host"] == "0.0.0.0"
    assert "no authentication" in capsys.readouterr().err


def test_missing_database_is_exit_2_and_never_created(tmp_path, served, capsys):
    missing = tmp_path / "nope" / "micro.db"
    assert main(["dashboard", "--storage", sqlite_url(missing)]) == 2
    err = capsys.readouterr().err
    assert "sqzdse: error: no study database at" in err and "sqzdse search" in err
    assert not missing.exists() and not missing.parent.exists()
    assert served == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a storage URL"),
        ("sqlite://", "names no database file"),
        ("sqlite:///:memory:", "names no database file"),
        ("nosuchdialect://host/db", "cannot open"),
    ],
)
def test_bad_urls_are_exit_2(url, message, served, capsys):
    assert main(["dashboard", "--storage", url]) == 2
    assert message in capsys.readouterr().err
    assert served == []


def test_a_file_that_is_not_a_study_database(tmp_path, served, capsys):
    text = tmp_path / "notes.db"
    text.write_text("hello")
    assert main(["dashboard", "--storage", sqlite_url(text)]) == 2
    assert "is not an SQLite database" in capsys.readouterr().err
    other = tmp_path / "other.db"
    import sqlite3

    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    before = fingerprint(other)
    assert main(["dashboard", "--storage", sqlite_url(other)]) == 2
    assert "not an Optuna storage" in capsys.readouterr().err
    assert fingerprint(other) == before  # no Optuna tables were added


def test_unknown_study_lists_the_studies(db, served, capsys):
    assert main(["dashboard", "--storage", sqlite_url(db), "--study", "macro"]) == 2
    err = capsys.readouterr().err
    assert "no study named 'macro'" in err and "studies there: micro" in err


def test_port_in_use_is_exit_2(db, served, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--storage", sqlite_url(db), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert served == []


def test_default_storage_is_the_only_database_under_studies(tmp_path, monkeypatch, served, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["dashboard"]) == 2
    assert "no study database in studies/" in capsys.readouterr().err
    (tmp_path / "studies").mkdir()
    study = create_study(sqlite_url(tmp_path / "studies" / "micro.db"), study_name="micro")
    add_trial(study, top1=0.5, top5=0.7)
    assert single_storage_in(Path("studies")) == "sqlite:///studies/micro.db"
    assert main(["dashboard", "--port", str(free_port())]) == 0 and len(served) == 1
    create_study(sqlite_url(tmp_path / "studies" / "macro.db"), study_name="macro")
    assert main(["dashboard"]) == 2
    err = capsys.readouterr().err
    assert "2 study databases in studies/" in err
    assert "studies/macro.db" in err and "studies/micro.db" in err and "--storage" in err


def test_help_lists_the_options():
    from click.testing import CliRunner

    from sqzdse.cli import cli

    result = CliRunner().invoke(cli, ["dashboard", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in ("--storage", "--study", "--host", "--port", "--refresh", "no authentication"):
        assert option in text


# ---------------------------------------------------------------------------- read-only access


def test_reading_never_writes_the_database(db):
    before = fingerprint(db)
    source = StudySource(sqlite_url(db))
    data = source.load("micro")
    assert list(data.frame["number"]) == [0, 1, 2]
    assert source.study_names() == ["micro"]
    app = create_app(sqlite_url(db))
    app.layout()
    assert fingerprint(db) == before


def test_the_readonly_connection_refuses_writes(db):
    storage = open_storage(sqlite_url(db))
    study = optuna.load_study(study_name="micro", storage=storage)
    before = fingerprint(db)
    with pytest.raises(optuna.exceptions.StorageInternalError) as err:
        study.set_user_attr("x", 1)
    assert "readonly" in str(err.value.__cause__)
    assert fingerprint(db) == before


def test_a_writer_is_not_blocked_and_refresh_sees_its_trials(tmp_path):
    url = sqlite_url(tmp_path / "live.db")
    writer = create_study(url, study_name="live")
    add_trial(writer, top1=0.5, top5=0.7)
    source = StudySource(url)
    first = source.load("live")
    assert source.load("live") is first  # unchanged: the cached data, no rebuild
    add_trial(writer, arch=small_arch(sr=0.25), top1=0.9, top5=0.99)  # while the reader is open
    add_trial(writer, state="RUNNING")
    second = source.load("live")
    assert second.version != first.version and list(second.frame["number"]) == [0, 1, 2]
    assert second.records[1].arch.sr == 0.25 and second.records[1].curve[0].top1 == 0.9
    info = figures.pareto_info([second], x="params", y="top1")
    assert sorted(info.fronts["live"]["number"]) == [0, 1]


@contextlib.contextmanager
def trials_read():
    """The numbers of the trial rows read from the database inside the block, one entry per row
    loaded (SQLAlchemy's `load` event on Optuna's trial table, whatever the code path)."""
    read: list[int] = []

    def on_load(trial, _context):
        read.append(trial.number)

    event.listen(models.TrialModel, "load", on_load)
    try:
        yield read
    finally:
        event.remove(models.TrialModel, "load", on_load)


def refresh(source: StudySource, name: str) -> None:
    """What a live tick costs at most: the version, then the page's callbacks loading the data."""
    source.version(name)
    for _ in range(4):  # main view, hypervolume, parallel coordinates, table
        source.load(name)


def test_a_refresh_reads_again_only_new_or_unfinished_trials(tmp_path):
    url = sqlite_url(tmp_path / "live.db")
    writer = create_study(url, study_name="live")
    for i in range(24):
        add_trial(writer, arch=small_arch(sr=0.25 * (1 + i % 3)), top1=0.5 + i / 100, top5=0.9)
    add_trial(writer, status="failed")  # 24
    add_trial(writer, status="infeasible")  # 25
    running = add_trial(writer, state="RUNNING")  # 26
    source = StudySource(url)
    with trials_read() as read:
        refresh(source, "live")
    assert set(read) == set(range(27))  # the first read reads them all

    calls = 5  # reads in one `refresh`: at most one row per trial for each
    with trials_read() as read:
        refresh(source, "live")
    assert set(read) == {running} and len(read) <= calls  # unchanged: only the running trial

    new = add_trial(writer, arch=small_arch(sr=0.75), top1=0.9, top5=0.99)
    with trials_read() as read:
        refresh(source, "live")
    assert set(read) == {running, new} and len(read) <= 2 * calls
    assert source.load("live").records[new].arch.sr == 0.75

    storage = fast_sqlite_storage(url)
    study_id = storage.get_study_id_from_name("live")
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, running)
    storage.set_trial_state_values(trial_id, TrialState.FAIL)  # the running trial ends
    with trials_read() as read:
        refresh(source, "live")
    assert set(read) == {running} and len(read) <= calls
    assert source.load("live").frame.set_index("number").loc[running, "state"] == "FAIL"
    with trials_read() as read:
        refresh(source, "live")
    assert read == []  # every trial finished and read: nothing is read again


def test_a_deleted_database_is_a_storage_error_not_a_crash(tmp_path):
    path = tmp_path / "gone.db"
    add_trial(create_study(sqlite_url(path), study_name="gone"), top1=0.5, top5=0.7)
    source = StudySource(sqlite_url(path))
    source.load("gone")
    path.unlink()
    with pytest.raises(StorageError):
        source.study_names()
    assert not path.exists()


def test_empty_storage_and_empty_study_start(tmp_path):
    path = tmp_path / "empty.db"
    optuna.storages.RDBStorage(sqlite_url(path)).engine.dispose()  # Optuna tables, no study
    app = create_app(sqlite_url(path))
    assert "pareto-graph" in json.dumps(app.layout().to_plotly_json(), default=str)
    create_study(sqlite_url(path), study_name="fresh")
    data = StudySource(sqlite_url(path)).load("fresh")
    info = figures.pareto_info([data], x="params", y="top5")
    assert "sqzdse search --space micro.yaml" in figures.empty_message(info)


def test_create_app_checks_its_arguments(db):
    with pytest.raises(ValueError, match="refresh_seconds"):
        create_app(sqlite_url(db), refresh_seconds=-1)
    with pytest.raises(StorageError, match="no study named 'x'"):
        create_app(sqlite_url(db), "x")


# ---------------------------------------------------------------------------- WSGI entry point


def load_wsgi(monkeypatch, **env):
    for key in ("SQZDSE_STORAGE", "SQZDSE_STUDY", "SQZDSE_REFRESH"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location(
        "sqzdse_wsgi_under_test", ROOT / "dashboards" / "wsgi.py"
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_wsgi_entry_serves_the_page(db, monkeypatch):
    module = load_wsgi(
        monkeypatch, SQZDSE_STORAGE=sqlite_url(db), SQZDSE_STUDY="micro", SQZDSE_REFRESH="2"
    )
    client = module.server.test_client()
    assert client.get("/").status_code == 200
    page = client.get("/_dash-layout")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "pareto-graph" in body
    assert '"interval":2000' in body.replace(" ", "")


def test_wsgi_entry_needs_a_storage(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match="set SQZDSE_STORAGE"):
        load_wsgi(monkeypatch)
    with pytest.raises(StorageError, match="no study database"):
        load_wsgi(monkeypatch, SQZDSE_STORAGE=sqlite_url(tmp_path / "missing.db"))
