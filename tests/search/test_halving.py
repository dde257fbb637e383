"""Successive halving inside the search: rungs, stopped trials, their records, duplicates, the
count of trials, and what each sampler reads of stopped trials."""

from __future__ import annotations

import dataclasses
import re
import uuid

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.arch import count_params
from sqzdse.data import load_dataset
from sqzdse.errors import SpaceError
from sqzdse.records import Rung, Status, TrialRecord
from sqzdse.search import Objective, make_setup, open_study, run_search
from sqzdse.search._rungs import decide
from sqzdse.space import Fidelity, load_space, parse_space
from sqzdse.train import train_proxy
from tests.search.helpers import TINY, load, run, write_space
from tests.search.test_workers import WIDE, _pg, pg_url, postgres_or_skip

HALVING = {
    "metaparameters": WIDE,
    # enough images and steps that accuracies differ between networks (TINY's all give chance)
    "training": {
        **TINY["training"],
        "epochs": 3,
        "train_per_class": 40,
        "val_per_class": 10,
        "batch_size": 16,
    },
    "fidelity": {"min_epochs": 1, "eta": 2},
    "n_trials": 10,
}


def space_with(**changes):
    return parse_space({**TINY, **changes})


# ---------------------------------------------------------------------------- the YAML section


def test_fidelity_section_sets_the_rungs_and_stays_out_of_the_hash():
    full = space_with(training={**TINY["training"], "epochs": 9})
    halving = space_with(
        training={**TINY["training"], "epochs": 9}, fidelity={"min_epochs": 1, "eta": 3}
    )
    assert full.fidelity is None and full.rungs == ()
    assert halving.fidelity == Fidelity(min_epochs=1, eta=3)
    assert halving.rungs == (1, 3)
    # A completed trial measures the same either way (same schedule): one study holds both.
    assert halving.hash == full.hash
    assert space_with(training={**TINY["training"], "epochs": 9}, fidelity={}).rungs == (1, 3)


@pytest.mark.parametrize(
    ("fidelity", "message"),
    [
        (
            {"min_epochs": 3, "eta": 2},
            "fidelity.min_epochs: 3 is not below the training epochs (3)",
        ),
        ({"eta": 1}, "fidelity.eta: expected an integer >= 2, got 1"),
        ({"min_epochs": 0}, "fidelity.min_epochs: expected an integer >= 1, got 0"),
        ({"min_epochs": 1.5}, "fidelity.min_epochs: expected an integer >= 1, got 1.5"),
        ({"rungs": [1]}, "fidelity.rungs: unknown key; allowed here: min_epochs, eta"),
        ([1, 3], "fidelity: expected a mapping such as {min_epochs: 1, eta: 3}"),
    ],
)
def test_fidelity_section_errors_name_the_field(fidelity, message):
    with pytest.raises(SpaceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        space_with(training={**TINY["training"], "epochs": 3}, fidelity=fidelity)


def test_flags_turn_halving_on_and_are_checked():
    space = space_with(training={**TINY["training"], "epochs": 4})
    assert space.with_overrides(eta=2).rungs == (1, 2)
    assert space.with_overrides(min_epochs=2).fidelity == Fidelity(min_epochs=2, eta=3)
    with pytest.raises(SpaceError, match="--min-epochs: 4 is not below the training epochs"):
        space.with_overrides(min_epochs=4)
    with pytest.raises(SpaceError, match="--eta: expected an integer >= 2, got 1"):
        space.with_overrides(eta=1)
    # --epochs that leaves no rung below it is refused, naming the flag that set the rung
    halving = space_with(training={**TINY["training"], "epochs": 4}, fidelity={"min_epochs": 2})
    with pytest.raises(SpaceError, match="fidelity.min_epochs: 2 is not below the training"):
        halving.with_overrides(epochs=2)


def test_cli_refuses_a_bad_eta_with_one_line(tmp_path, capsys):
    space = write_space(tmp_path, training={**TINY["training"], "epochs": 3})
    code, _, err = run(capsys, "search", "--space", space, "--eta", "1")
    assert code == 2 and "--eta: expected an integer >= 2, got 1" in err
    assert not (tmp_path / "studies").exists()


# ---------------------------------------------------------------------------- a search


@pytest.fixture(scope="module")
def halving_search(tmp_path_factory):
    """A real 10-trial search under successive halving (rungs at epochs 1 and 2 of 3, eta 2)."""
    folder = tmp_path_factory.mktemp("halving")
    db = folder / "h.db"
    space = write_space(folder, name="halving", **HALVING)
    code = _main(["search", "--space", str(space), "--storage", f"sqlite:///{db}", "-q"])
    assert code == 0
    return load(db, "halving"), load_space(str(space)), db


def _main(args) -> int:
    from sqzdse.cli import main

    return main(args)


def test_search_stops_some_trials_at_rungs_and_counts_them(halving_search):
    study, *_ = halving_search
    records = [TrialRecord.from_trial(t) for t in study.trials]
    counted = [r for r in records if r.status in (Status.OK, Status.REUSED, Status.STOPPED)]
    assert len(counted) == 10  # stopped trials count towards n_trials
    stopped = [r for r in records if r.status is Status.STOPPED]
    assert stopped and any(r.status is Status.OK for r in records)
    for r in stopped:
        assert r.state == "PRUNED" and r.values is None
        assert r.epochs_trained in (1, 2) and r.curve[-1].epoch == r.epochs_trained
        assert "top1" not in r.metrics and r.metrics["train_seconds"] == r.curve[-1].seconds
        assert r.failure_reason.startswith(f"stopped at epoch {r.epochs_trained} of 3: ")
        if r.reused_from is None:
            assert r.rungs[-1].epoch == r.epochs_trained and not r.rungs[-1].continues
            assert all(rung.continues for rung in r.rungs[:-1])
    for r in records:
        if r.status is Status.OK:
            assert r.epochs_trained == 3 and [g.epoch for g in r.rungs] == [1, 2]
            assert all(g.continues for g in r.rungs)


def test_every_stored_decision_can_be_recomputed_from_the_study(halving_search):
    """A reader gets the same decision from the values of the trials each rung names."""
    study, *_ = halving_search
    assert recompute_every_decision(study) >= 10


def recompute_every_decision(study: optuna.Study) -> int:
    """Check every stored rung decision of `study` against `decide` on the values of the trials
    it names; returns how many were checked."""
    records = {t.number: TrialRecord.from_trial(t) for t in study.trials}
    checked = 0
    for record in records.values():
        for rung in record.rungs:
            others = [_values_at(records[n], rung.epoch) for n in rung.among]
            again = decide(rung.values, others, directions=["maximize", "minimize"], eta=2)
            assert (again.continues, again.position, again.kept, again.n, again.reason) == (
                rung.continues,
                rung.position,
                rung.kept,
                rung.n,
                rung.reason,
            )
            # the values are the trial's own: accuracy at that epoch and its exact parameters
            epoch = record.curve[rung.epoch - 1]
            assert rung.values == (epoch.top1, record.metrics["params"])
            checked += 1
    return checked


def _values_at(record: TrialRecord, epoch: int) -> tuple:
    return next(r.values for r in record.rungs if r.epoch == epoch)


def test_a_stopped_trial_trained_exactly_like_the_full_budget_up_to_its_epoch(halving_search):
    """Same schedule: its partial curve is the first epochs of the full-budget run."""
    study, space, _ = halving_search
    record = next(
        r
        for r in map(TrialRecord.from_trial, study.trials)
        if r.status is Status.STOPPED and r.reused_from is None
    )
    training = space.training
    full = train_proxy(record.arch, load_dataset(training.data_spec()), training.train_config())
    for stopped, reference in zip(record.curve, full.curve, strict=False):
        assert dataclasses.replace(stopped, seconds=0) == dataclasses.replace(reference, seconds=0)
    assert len(full.curve) == 3 > len(record.curve)


def test_exports_carry_epochs_trained_and_the_stopped_status(halving_search, tmp_path):
    from sqzdse.analysis import load_trials

    *_, db = halving_search
    out = tmp_path / "h.csv"
    assert _main(["export", "--storage", f"sqlite:///{db}", "-o", str(out)]) == 0
    frame = load_trials(out)
    stopped = frame[frame["status"] == "stopped"]
    assert len(stopped) and (stopped["epochs_trained"] < 3).all()
    assert stopped["top1"].isna().all() and (stopped["state"] == "PRUNED").all()
    assert (frame.loc[frame["status"] == "ok", "epochs_trained"] == 3).all()


@pytest.mark.slow
def test_two_workers_on_postgresql_decide_from_the_rungs_committed_so_far(tmp_path, capfd):
    url = pg_url(postgres_or_skip())
    name = f"sh-{uuid.uuid4().hex[:8]}"
    space = write_space(tmp_path, name=name, **{**HALVING, "n_trials": 12})
    try:
        code, _, err = run(capfd, "search", "--space", space, "--storage", url, "--workers", "2")
        assert code == 0, err
        # no artifact store on a server unless given: weights are not stored, and it says so
        assert "weights are not stored: a study on a server needs --artifacts" in err
        study = optuna.load_study(study_name=name, storage=_pg(url))
        statuses = [t.user_attrs.get("status") for t in study.trials]
        assert sum(s in ("ok", "reused", "stopped") for s in statuses) == 12
        assert "stopped" in statuses and "RUNNING" not in {t.state.name for t in study.trials}
        assert recompute_every_decision(study) >= 12
    finally:
        optuna.delete_study(study_name=name, storage=_pg(url))


def test_progress_says_where_and_why_a_trial_stopped(tmp_path, capsys):
    space = write_space(tmp_path, name="progress", **{**HALVING, "n_trials": 5})
    code, _, err = run(
        capsys, "search", "--space", space, "--storage", f"sqlite:///{tmp_path}/p.db"
    )
    assert code == 0
    assert "successive halving: rungs at epochs 1, 2 of 3, about 1 in 2 trials goes on" in err
    stopped = re.findall(
        r"^\[\d/5\] trial \d +stopped +at epoch [12] of 3: ranked \d+ of \d+ ", err, re.M
    )
    assert stopped, err


# ---------------------------------------------------------------------------- duplicates


def test_an_architecture_stopped_before_reuses_that_result(tmp_path):
    """A twin of a stopped network is stopped too, without training; a completed twin wins."""
    space = space_with(
        training={**TINY["training"], "epochs": 3},
        fidelity={"min_epochs": 1, "eta": 2},
        metaparameters={**TINY["metaparameters"], "base_e": 8, "incr_e": 0, "sr": 0.25},
    )
    setup = make_setup(space)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'd.db'}")
    study = open_study(setup, storage=storage, study_name="dup")
    calls = []

    def trainer(cfg, data, config, **kwargs):
        calls.append(cfg)
        return train_proxy(cfg, data, config, **kwargs)

    # Another network dominates this one at rung 1 in a made-up earlier trial, so it stops there.
    better = _rung_trial(space, params=1, top1=1.0)
    study.add_trial(better)
    run_search(study, Objective(setup, n_trials=2, trainer=trainer))
    records = [TrialRecord.from_trial(t) for t in study.trials]
    first, second = records[1], records[2]
    assert len(calls) == 1 and first.status is Status.STOPPED and first.reused_from is None
    assert second.status is Status.STOPPED and second.reused_from == first.number
    assert second.curve == first.curve and second.rungs == ()
    assert second.failure_reason.startswith(f"same network as trial {first.number}, stopped at")


def _rung_trial(space, *, params: int, top1: float) -> optuna.trial.FrozenTrial:
    """A finished trial that recorded (top1, params) at rung 1, as another worker would."""
    rung = Rung(1, (top1, params), (), True, 0, 1, 1, "made up")
    return optuna.trial.create_trial(
        state=TrialState.FAIL,
        user_attrs={"status": "failed", "rungs": [rung.to_dict()]},
    )


# ---------------------------------------------------------------------------- infeasible draws


def test_infeasible_draws_are_free_and_a_long_run_of_them_stops(tmp_path, capsys):
    space = write_space(tmp_path, name="none", constraints={"params": 10}, n_trials=2)
    code, _, err = run(
        capsys,
        "search",
        "--space",
        space,
        "--storage",
        f"sqlite:///{tmp_path}/n.db",
        "--max-infeasible",
        "5",
    )
    assert code == 1
    assert "the last 5 networks drawn were all over the constraints' budgets" in err
    assert "the constraints exclude nearly all of the space" in err
    trials = load(tmp_path / "n.db", "none").trials
    assert [t.user_attrs["status"] for t in trials] == ["infeasible"] * 5


# ---------------------------------------------------------------------------- samplers


def _next_params(sampler_name: str, *, with_stopped: bool) -> dict:
    """The parameters a fresh seeded sampler draws next, on a study of completed trials and,
    optionally, stopped ones crowded into one corner of the space."""
    from sqzdse.samplers import make_sampler

    x = optuna.distributions.FloatDistribution(0.0, 1.0)
    options = {"nsga2": {"population_size": 4}, "tpe": {"n_startup_trials": 4}}
    options.setdefault(sampler_name, {})
    if sampler_name == "gp":
        options["gp"] = {"n_startup_trials": 4}
    sampler = make_sampler(sampler_name, seed=3, options=options[sampler_name], grid=dict)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    for i in range(8):
        v = i / 8
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": v, "y": 1 - v}, distributions={"x": x, "y": x}, values=[v, v * v]
            )
        )
    if with_stopped:
        for i in range(12):
            study.add_trial(
                optuna.trial.create_trial(
                    state=TrialState.PRUNED,
                    params={"x": 0.99 - i / 1000, "y": 0.01},
                    distributions={"x": x, "y": x},
                    user_attrs={"status": "stopped"},
                )
            )
    trial = study.ask({"x": x, "y": x})
    return trial.params


@pytest.mark.parametrize(
    ("sampler", "reads_stopped"),
    [("tpe", True), ("nsga2", False), ("gp", False), ("random", False)],
)
def test_which_samplers_read_stopped_trials(sampler, reads_stopped):
    """What the README says: TPE learns from stopped (PRUNED) trials; NSGA-II and GP read only
    COMPLETE ones, so stopped trials change nothing they draw."""
    changed = _next_params(sampler, with_stopped=False) != _next_params(sampler, with_stopped=True)
    assert changed is reads_stopped


def test_infeasible_draws_do_not_use_up_n_trials(tmp_path, capsys):
    """With a budget that excludes half of the networks, 4 trials still train 4 times (before,
    infeasible draws counted: 6 trials of full.yaml trained 3 networks)."""
    space = space_with()
    sizes = sorted(
        count_params(space.base_config(10).replace(base_e=b, incr_e=i, sr=r))
        for b in (8, 16)
        for i in (0, 8)
        for r in (0.25, 0.5)
    )
    budget = sizes[3]  # the 4 smallest of the 8 networks are within it
    path = write_space(tmp_path, name="half", constraints={"params": budget}, n_trials=4)
    assert run(capsys, "search", "--space", path, "--storage", f"sqlite:///{tmp_path}/h.db")[0] == 0
    trials = load(tmp_path / "h.db", "half").trials
    statuses = [t.user_attrs["status"] for t in trials]
    assert "infeasible" in statuses
    assert sum(s in ("ok", "reused") for s in statuses) == 4
    assert all(t.user_attrs["params"] <= budget for t in trials if t.state == TrialState.COMPLETE)
