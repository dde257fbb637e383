"""A worker declared dead while alive: while it trains, another process fails its trial (as
`fail_stale_trials` does after an outage longer than the grace period) and maybe retries it. Its
result is recorded once per network, never lost, never counted twice, and nothing crashes."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.search import Objective, make_setup, open_study, run_search
from sqzdse.search._orphans import RECORDED_FOR
from sqzdse.space import parse_space
from sqzdse.storage import open_storage
from sqzdse.train import TrainResult
from tests.search.helpers import TINY


def _fail_as_stale(study: optuna.Study, number: int, *, retry: bool) -> None:
    """What another process does to a trial whose heartbeat went stale: fail it and, with Optuna's
    stale-trial callback, enqueue a WAITING copy."""
    trial = study.get_trials(deepcopy=False)[number]
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    if retry:
        callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        callback(study, study._storage.get_trial(trial._trial_id))


def _search(tmp_path, on_train, n_trials: int = 2):
    setup = make_setup(parse_space({**TINY, "n_trials": n_trials}))
    url = f"sqlite:///{tmp_path / 'd.db'}"
    study = open_study(setup, storage=open_storage(url, mode="write"), study_name="tiny")
    calls = []

    def trainer(cfg, data, config, **kwargs):
        calls.append(cfg)
        on_train(study, len(calls) - 1)
        return TrainResult(
            status="ok",
            reason=None,
            top1=0.5 + 0.1 * len(calls),
            top5=0.9,
            train_loss=1.0,
            train_seconds=0.1,
        )

    lines: list[str] = []
    run_search(study, Objective(setup, n_trials=n_trials, trainer=trainer), say=lines.append)
    return study, calls, lines


def _results(study: optuna.Study) -> list:
    return [t for t in study.get_trials() if t.state == TrialState.COMPLETE]


def test_a_waiting_retry_gets_the_result_and_is_not_trained_again(tmp_path):
    def on_train(study, call):
        if call == 0:
            _fail_as_stale(study, 0, retry=True)

    study, calls, lines = _search(tmp_path, on_train)
    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL
    assert trials[1].state == TrialState.COMPLETE and trials[1].system_attrs["failed_trial"] == 0
    assert trials[1].user_attrs["top1"] == pytest.approx(0.6)  # the first training's result
    assert trials[1].params == trials[0].params
    assert lines == [
        "trial 0 was declared dead while its worker was alive; its result is recorded on the "
        "retry, trial 1"
    ]
    # The study reached its 2 results with 2 trainings: the retry was not trained again.
    assert len(_results(study)) == 2 and len(calls) == 2


def test_without_a_retry_the_result_becomes_a_new_trial(tmp_path):
    def on_train(study, call):
        if call == 0:
            _fail_as_stale(study, 0, retry=False)

    study, calls, lines = _search(tmp_path, on_train)
    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL
    assert trials[1].user_attrs[RECORDED_FOR] == 0 and trials[1].params == trials[0].params
    assert trials[1].user_attrs["top1"] == pytest.approx(0.6)
    assert lines == [
        "trial 0 was declared dead while its worker was alive; its result is recorded as trial 1"
    ]
    assert len(_results(study)) == 2 and len(calls) == 2


def test_a_retry_already_holding_a_result_is_not_counted_twice(tmp_path):
    def on_train(study, call):
        if call == 0:  # declared dead, and the retry trained and finished by another worker
            _fail_as_stale(study, 0, retry=True)
            retry = study.get_trials(deepcopy=False)[1]
            study._storage.set_trial_state_values(retry._trial_id, TrialState.RUNNING)
            study._storage.set_trial_user_attr(retry._trial_id, "top1", 0.42)
            study._storage.set_trial_state_values(
                retry._trial_id, TrialState.COMPLETE, [0.42, 1000.0]
            )

    study, calls, lines = _search(tmp_path, on_train, n_trials=1)
    assert lines == [
        "trial 0 was declared dead while its worker was alive; trial 1 already holds this "
        "network's result, so this one is not counted twice"
    ]
    (done,) = _results(study)
    assert done.number == 1 and done.user_attrs["top1"] == 0.42
    assert len(study.get_trials()) == 2


def test_declared_dead_before_training_ends_leaves_the_retry_to_train(tmp_path):
    def on_train(study, call):
        if call == 0:
            _fail_as_stale(study, 0, retry=True)
            # A write of the trial while it trains (a rung, an attribute) finds it finished.
            study._storage.set_trial_user_attr(study.get_trials()[0]._trial_id, "x", 1)

    study, calls, lines = _search(tmp_path, on_train, n_trials=1)
    assert lines == [
        "trial 0 was declared dead while its worker was alive (its heartbeats could not be "
        "written); its retry trains the network again"
    ]
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert trials[1].params == trials[0].params and len(calls) == 2


# ---------------------------------------------------------------------------- fidelity, retrain


def _runs_study(tmp_path, name: str):
    from sqzdse.fidelity import _store

    storage = open_storage(f"sqlite:///{tmp_path / 'runs.db'}", mode="write")
    return _store.open_fidelity_study(storage, name)


def _fail(study: optuna.Study, trial) -> None:
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def test_a_fidelity_run_finished_after_being_declared_dead_is_stored_once(tmp_path):
    from sqzdse.fidelity import _store
    from sqzdse.fidelity._instrument import make_plan

    plan = make_plan(parse_space(TINY), num_classes=10, networks=2, proxy_seeds=1,
                     reference_seeds=1)  # fmt: skip
    first, second = plan.runs()[:2]
    study = _runs_study(tmp_path, "fid")
    result = TrainResult(
        status="ok", reason=None, top1=0.7, top5=0.9, train_loss=1.0, train_seconds=0.1
    )
    trial = _store.claim(study, first, host="alive")
    _fail(study, trial)  # taken for dead; nobody has stored the run yet
    assert _store.record(study, trial, first, result).top1 == 0.7
    stored = _store.finished_trials(study)
    assert stored[first.key].number == 1 and stored[first.key].user_attrs["host"] == "alive"
    # Another process retrained and stored the run meanwhile: not stored twice.
    trial = _store.claim(study, second, host="alive")
    _fail(study, trial)
    other = _store.claim(study, second, host="other")
    _store.record(
        study,
        other,
        second,
        TrainResult(status="ok", reason=None, top1=0.6, top5=0.9, train_loss=1.0),
    )
    _store.record(study, trial, second, result)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert sorted(t.user_attrs["run_key"] for t in complete) == sorted([first.key, second.key])
    assert _store.finished_runs(study)[second.key].top1 == 0.6


def test_a_retraining_run_declared_dead_keeps_its_result(tmp_path):
    from sqzdse.arch import preset
    from sqzdse.front import FrontRun, Network, stored_runs, train_runs
    from sqzdse.retrain import SeedRun
    from sqzdse.search import Interrupts
    from sqzdse.space import Training

    study = _runs_study(tmp_path, "front.retrain")
    net = Network("v1.1", preset("v1.1", num_classes=10, resolution=32))
    runs = [FrontRun(net, Training(seed=0))]
    lines: list[str] = []

    def train(run, on_epoch):
        (held,) = study.get_trials(states=(TrialState.RUNNING,))
        _fail(study, held)  # another process took this one for dead while it trained
        run = SeedRun(
            seed=0,
            top1=0.8,
            top5=0.9,
            test_top1=0.75,
            test_top5=0.9,
            train_seconds=1.0,
            device="cpu",
        )
        return run, None

    done = train_runs(runs, study, train=train, save_weights=lambda *a: None, echo=lines.append,
                      host="h", heartbeat_interval=60, interrupts=Interrupts())  # fmt: skip
    assert done[runs[0].key].test_top1 == 0.75 == stored_runs(study)[runs[0].key].test_top1
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.COMPLETE]
    assert any("declared dead while alive; stored as trial 1" in line for line in lines), lines
