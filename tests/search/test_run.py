"""`sqzdse.search.run`: the search as one library call, what `sqzdse search` wraps."""

import pytest
from optuna.trial import TrialState

from sqzdse.errors import SpaceError, SqzdseError
from sqzdse.search import SearchRun, run
from sqzdse.space import parse_space
from tests.search.helpers import TINY, load, write_space


def test_run_searches_a_space_file_and_says_what_it_does(tmp_path):
    said = []
    db = tmp_path / "s.db"
    done = run(write_space(tmp_path), storage=f"sqlite:///{db}", n_trials=2, say=said.append)
    assert isinstance(done, SearchRun) and done.worker_exit_code == 0
    assert done.objectives == ("top1", "params")
    assert done.settings.study_name == "tiny" and done.settings.save_weights == "front"
    study = load(db)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert [t.number for t in done.study.trials] == [0, 1]  # the same study, read back
    assert said[0].startswith(f"study 'tiny' in sqlite:///{db}: space tiny (")
    assert sum("] trial " in line for line in said) == 2


def test_overrides_are_the_flags_by_their_keyword_names(tmp_path):
    space = parse_space(TINY)  # a space made in code: no file anywhere
    done = run(space, storage=f"sqlite:///{tmp_path / 's.db'}", n_trials=1, epochs=2, seed=7)
    (trial,) = done.study.trials
    assert len(trial.user_attrs["curve"]) == 2
    assert done.setup.space.sampler.seed == 7 and done.setup.space.training.epochs == 2


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epoch": 3}, "unknown setting 'epoch'; the settings a search takes: dataset,"),
        ({"epochs": 0}, "--epochs must be >= 1, got 0"),
        ({"save_weights": "best"}, "--save-weights must be one of none, front, all, got 'best'"),
        ({"max_failures": 0}, "--max-failures must be an integer >= 1, got 0"),
        ({"workers": 0}, "--workers must be >= 1 or auto, got 0"),
        ({"heartbeat_interval": 5, "grace_period": 5}, "--grace-period (5) must exceed"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, settings, message):
    db = tmp_path / "s.db"
    with pytest.raises(SqzdseError) as refused:
        run(parse_space(TINY), storage=f"sqlite:///{db}", **settings)
    assert message in str(refused.value)
    assert not db.exists()


def test_an_unknown_setting_is_a_space_error_naming_it():
    with pytest.raises(SpaceError, match="unknown setting 'n_trial'"):
        parse_space(TINY).with_overrides(n_trial=3)


def test_workers_are_given_the_space_not_a_file(tmp_path, capfd):
    # The space exists only in this process: workers could not rebuild it from a command line.
    space = parse_space({**TINY, "name": "in-memory"})
    db = tmp_path / "w.db"
    done = run(space, storage=f"sqlite:///{db}", n_trials=3, workers=2, say=print)
    err = capfd.readouterr().err
    assert done.worker_exit_code == 0, err
    study = load(db, "in-memory")
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 3
    # each worker said its own progress lines on its stderr
    assert {"[worker 1]", "[worker 2]"} <= {line[:10] for line in err.splitlines()}
