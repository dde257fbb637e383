"""Opening storages: one module, one set of checks and messages, for readers and the search."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from sqzdse.errors import StorageError
from sqzdse.storage import (
    check_study_name,
    load_study,
    open_storage,
    single_storage_in,
    storage_for_space,
)
from sqzdse.testing import add_trial, create_study, sqlite_url


def test_write_mode_creates_the_file_and_its_folder(tmp_path):
    path = tmp_path / "new" / "folder" / "s.db"
    optuna.create_study(storage=open_storage(sqlite_url(path), mode="write"), study_name="s")
    assert path.is_file()


def test_read_mode_never_creates_and_never_writes(tmp_path):
    missing = tmp_path / "none.db"
    with pytest.raises(StorageError, match="no study database at .*no such file.*sqzdse search"):
        open_storage(sqlite_url(missing))
    assert not missing.exists()
    url = sqlite_url(tmp_path / "s.db")
    add_trial(create_study(url, study_name="s"), top1=0.5, top5=0.9)
    before = (tmp_path / "s.db").read_bytes()
    reader = open_storage(url)
    assert len(load_study(reader, study_name="s").trials) == 1
    with pytest.raises(optuna.exceptions.StorageInternalError) as refused:
        optuna.create_study(storage=reader, study_name="other")
    assert "readonly" in str(refused.value.__cause__)  # the connection itself refuses to write
    assert (tmp_path / "s.db").read_bytes() == before


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "no storage given"),
        ("not a url", "is not a storage URL"),
        ("sqlite://", "names no database file; give an SQLite file"),
        ("sqlite:///:memory:", "names no database file"),
        ("nosuchdialect://host/db", "cannot open storage nosuchdialect://host/db"),
    ],
)
@pytest.mark.parametrize("mode", ["read", "write"])
def test_bad_urls_say_what_is_wrong(url, message, mode):
    with pytest.raises(StorageError, match=message):
        open_storage(url, mode=mode)


def test_files_that_are_not_studies(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello")
    folder = tmp_path / "folder.db"
    folder.mkdir()
    for mode in ("read", "write"):
        with pytest.raises(StorageError, match="is not an SQLite database"):
            open_storage(sqlite_url(text), mode=mode)
        with pytest.raises(StorageError, match="is a folder, not an SQLite file"):
            open_storage(sqlite_url(folder), mode=mode)
    assert text.read_text() == "hello"


def test_mode_is_checked():
    with pytest.raises(ValueError, match="`mode` must be 'read' or 'write', got 'append'"):
        open_storage("sqlite:///x.db", mode="append")


def test_default_locations(tmp_path, monkeypatch):
    assert storage_for_space("micro") == "sqlite:///studies/micro.db"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match="no study database in studies/"):
        single_storage_in()
    Path("studies").mkdir()
    Path("studies/a.db").write_bytes(b"")
    assert single_storage_in() == "sqlite:///studies/a.db"
    Path("studies/b.db").write_bytes(b"")
    with pytest.raises(StorageError, match="2 study databases in studies/"):
        single_storage_in()


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "x" * 129])
def test_unsafe_study_names_are_refused(name):
    with pytest.raises(StorageError, match="is not allowed"):
        check_study_name(name)
    assert check_study_name("micro-2.v1") == "micro-2.v1"
