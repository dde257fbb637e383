"""The study factory writes what a real search writes: the same trials, read by the same reader."""

from __future__ import annotations

import dataclasses

from sqzdse.analysis import trial_records, trials_frame
from sqzdse.records import METRICS, Status
from sqzdse.storage import load_study
from sqzdse.testing import add_trial, create_study, sqlite_url
from tests.search.helpers import run, write_space

OPTUNA_OWNED = ("number", "datetime_start", "datetime_complete")


def test_factory_study_matches_a_real_search_field_by_field(tmp_path, capsys, one_thread):
    # A real search with trained, reused and infeasible trials (a budget between network sizes).
    space = write_space(tmp_path, n_trials=8, constraints={"params": 12000})
    db = tmp_path / "search.db"
    assert run(capsys, "search", "--space", space, "--storage", sqlite_url(db))[0] == 0
    searched = load_study(sqlite_url(db))
    records = trial_records(searched)
    assert {r.status for r in records} == {Status.OK, Status.REUSED, Status.INFEASIBLE}

    # The same trials through the factory, into a study with the search's objectives.
    made = create_study(
        sqlite_url(tmp_path / "factory.db"),
        study_name="tiny",
        objectives=(("top1", "maximize"), ("params", "minimize")),
    )
    for r in records:
        trained = {k: r.metrics.get(k) for k in ("top1", "top5", "train_loss", "train_seconds")}
        add_trial(
            made,
            arch=r.arch,
            status=r.status,
            metrics=dict(r.metrics),
            curve=r.curve,
            failure_reason=r.failure_reason,
            reused_from=r.reused_from,
            constraints=searched.trials[r.number].system_attrs.get("constraints"),
            latency=r.latency,
            weights=r.weights,
            **trained,
        )
    factory_records = trial_records(made)

    # Field by field: every record field, every stored attribute, the frame's every column.
    for real, fake, real_trial, fake_trial in zip(
        records, factory_records, searched.trials, made.trials
    ):
        assert set(real_trial.user_attrs) == set(fake_trial.user_attrs), real.number
        for field in dataclasses.fields(real):
            if field.name not in OPTUNA_OWNED:
                assert getattr(real, field.name) == getattr(fake, field.name), field.name
    real_frame, fake_frame = trials_frame(searched), trials_frame(made)
    assert list(real_frame.columns) == list(fake_frame.columns)
    assert dict(real_frame.dtypes) == dict(fake_frame.dtypes)
    compared = [c for c in real_frame.columns if c not in OPTUNA_OWNED]
    assert real_frame[compared].equals(fake_frame[compared])
    assert set(METRICS) <= set(real_frame.columns)
