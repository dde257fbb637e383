"""sqzdse.analysis: loading studies without ever creating one, and fronts / hypervolumes by hand."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from sqzdse import analysis
from sqzdse.analysis import (
    TRIAL_COLUMNS,
    default_reference,
    effect_summary,
    hypervolume,
    hypervolume_history,
    knee_point,
    load_trials,
    pareto_front,
    pareto_rank,
)
from sqzdse.errors import StorageError
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

MAX_MIN = {"top5": "maximize", "params": "minimize"}


def frame(rows, columns=("top5", "params"), states=None) -> pd.DataFrame:
    """A minimal trials frame: numbers, states (default COMPLETE) and the given metric columns."""
    df = pd.DataFrame(rows, columns=list(columns), dtype="float64")
    df.insert(0, "number", range(len(df)))
    df.insert(1, "state", states or ["COMPLETE"] * len(df))
    return df


# ---------------------------------------------------------------------------- Pareto front

# (top5, params, state): expected front under top5 max / params min, worked out by hand.
TRIALS = [
    (0.90, 100, "COMPLETE"),  # 0 a: front
    (0.90, 100, "COMPLETE"),  # 1 b: identical to a, so on the front too
    (0.95, 200, "COMPLETE"),  # 2 c: front (best top5 among eligible)
    (0.90, 150, "COMPLETE"),  # 3 d: same top5 as a, more params -> dominated by a
    (0.80, 50, "COMPLETE"),  # 4 e: same params as i, lower top5 -> dominated by i
    (0.99, 300, "FAIL"),  # 5 failed: would be on the front, but never counts
    (0.99, 10, "PRUNED"),  # 6 infeasible: dominates everything, never counts
    (np.nan, 10, "COMPLETE"),  # 7 metric missing: excluded
    (0.85, 50, "COMPLETE"),  # 8 i: front
    (0.80, 160, "COMPLETE"),  # 9 j: dominated by d (and a): rank 2
]


@pytest.fixture
def trials() -> pd.DataFrame:
    return frame([t[:2] for t in TRIALS], states=[t[2] for t in TRIALS])


def test_front_with_ties_failed_and_pruned(trials):
    front = pareto_front(trials, MAX_MIN)
    assert front.dtype == bool and front.index.equals(trials.index)
    assert list(np.flatnonzero(front)) == [0, 1, 2, 8]


def test_front_with_both_directions_swapped(trials):
    # Minimize top5, maximize params: j (0.80, 160) beats e (same top5, more params) and d, a, b, i
    # (lower top5, more params); only c (0.95, 200), with the most params, escapes it.
    front = pareto_front(trials, {"top5": "minimize", "params": "maximize"})
    assert list(np.flatnonzero(front)) == [2, 9]
    # Both maximized: c is best in both, so it alone is on the front.
    both_max = pareto_front(trials, [("top5", "maximize"), ("params", "maximize")])
    assert list(np.flatnonzero(both_max)) == [2]


def test_front_metric_forms_agree(trials):
    as_dict = pareto_front(trials, MAX_MIN)
    assert as_dict.equals(pareto_front(trials, [("top5", "maximize"), ("params", "minimize")]))
    assert as_dict.equals(pareto_front(trials, ["top5", "params"]))  # directions from records.py


def test_front_three_metrics():
    rows = [
        (0.90, 10, 10),  # p0: dominated by p4 (equal, equal, fewer MACs)
        (0.80, 5, 20),  # p1: front
        (0.80, 5, 20),  # p2: identical to p1: front
        (0.70, 20, 30),  # p3: dominated by p0
        (0.90, 10, 5),  # p4: front
        (0.95, 30, 40),  # p5: front (best top1)
    ]
    df = frame(rows, columns=("top1", "params", "macs"))
    front = pareto_front(df, {"top1": "maximize", "params": "minimize", "macs": "minimize"})
    assert list(np.flatnonzero(front)) == [1, 2, 4, 5]


def test_pareto_rank_by_hand(trials):
    ranks = pareto_rank(trials, MAX_MIN)
    assert str(ranks.dtype) == "Int64"
    expected = [0, 0, 0, 1, 1, pd.NA, pd.NA, pd.NA, 0, 2]
    assert [None if pd.isna(r) else int(r) for r in ranks] == [
        None if e is pd.NA else e for e in expected
    ]


def test_pareto_rank_matches_repeated_peeling():
    rng = np.random.default_rng(0)
    df = frame(rng.integers(0, 6, size=(80, 2)).astype(float), columns=("top5", "params"))
    ranks = pareto_rank(df, MAX_MIN).astype(int)
    remaining = df.copy()
    level = 0
    while len(remaining):
        front = pareto_front(remaining, MAX_MIN)
        assert (ranks[front[front].index] == level).all()
        remaining = remaining.loc[~front]
        level += 1
    assert (ranks == 0).equals(pareto_front(df, MAX_MIN))


@pytest.mark.parametrize("dims", [2, 3, 4])
def test_front_and_rank_match_the_definition(dims):
    rng = np.random.default_rng(dims)
    names = ("top1", "params", "macs", "train_seconds")[:dims]
    for _ in range(30):
        points = rng.integers(0, 4, size=(int(rng.integers(1, 25)), dims)).astype(float)
        df = frame(points, columns=names)
        metrics = {name: "minimize" for name in names}

        def dominates(a, b):
            return bool(np.all(a <= b) and np.any(a < b))

        expected_front = [not any(dominates(q, p) for q in points) for p in points]
        assert pareto_front(df, metrics).tolist() == expected_front
        rank = {}
        for i in np.lexsort(points.T[::-1]):  # dominating rows come first
            rank[i] = max((rank[j] + 1 for j in rank if dominates(points[j], points[i])), default=0)
        assert pareto_rank(df, metrics).tolist() == [rank[i] for i in range(len(points))]


def test_front_rejects_bad_metrics(trials):
    with pytest.raises(ValueError, match="'maximize' or 'minimize'"):
        pareto_front(trials, {"top5": "up", "params": "minimize"})
    with pytest.raises(ValueError, match="no column 'flops'"):
        pareto_front(trials, {"top5": "maximize", "flops": "minimize"})
    with pytest.raises(ValueError, match="without a direction"):
        pareto_front(trials, ["top5", "accuracy"])


def test_front_of_nothing_is_empty():
    df = frame([(0.9, 10)], states=["FAIL"])
    assert not pareto_front(df, MAX_MIN).any()
    assert knee_point(df, MAX_MIN) is None


# ---------------------------------------------------------------------------- hypervolume


def test_hypervolume_2d_by_hand():
    staircase = [(1, 3), (2, 2), (3, 1)]
    # x 1..2 -> 1 high, x 2..3 -> 2 high, x 3..4 -> 3 high: 1 + 2 + 3 = 6.
    assert hypervolume(staircase, directions=["minimize"] * 2, reference=(4, 4)) == 6.0
    # A duplicate, a point beyond the reference and one on its edge add nothing.
    more = staircase + [(2, 2), (5, 0), (4, 0.5)]
    assert hypervolume(more, directions=["minimize"] * 2, reference=(4, 4)) == 6.0
    # Both maximized: the same staircase mirrored.
    mirrored = [(3, 1), (2, 2), (1, 3)]
    assert hypervolume(mirrored, directions=["maximize"] * 2, reference=(0, 0)) == 6.0
    # Mixed: top5 max, params min: 0.9*200 + 0.95*100 - 0.9*100 = 185.
    assert hypervolume(
        [(0.9, 100), (0.95, 200)], directions=["maximize", "minimize"], reference=(0, 300)
    ) == pytest.approx(185.0)
    assert hypervolume([], directions=["minimize"] * 2, reference=(1, 1)) == 0.0


def test_hypervolume_3d_by_hand():
    d = ["minimize"] * 3
    assert hypervolume([(1, 1, 1)], directions=d, reference=(2, 2, 2)) == 1.0
    # Boxes of 4 and 2 overlapping in 1.
    assert hypervolume([(0, 0, 1), (1, 1, 0)], directions=d, reference=(2, 2, 2)) == 5.0
    # Three boxes of 4, pairwise overlaps of 2, common cube 1: 12 - 6 + 1 = 7.
    assert hypervolume([(1, 0, 0), (0, 1, 0), (0, 0, 1)], directions=d, reference=(2, 2, 2)) == 7.0
    # top1 max, params min, macs min, one point: 0.5 * 10 * 20.
    assert hypervolume(
        [(0.5, 10, 20)], directions=["maximize", "minimize", "minimize"], reference=(0, 20, 40)
    ) == pytest.approx(100.0)


def _counted_volume(points, reference) -> int:
    """Unit cells of the box [0, reference) dominated by an integer point: exact for integers."""
    cells = itertools.product(*(range(r) for r in reference))
    return sum(any(all(c >= p for c, p in zip(cell, point)) for point in points) for cell in cells)


@pytest.mark.parametrize("dims", [2, 3])
def test_hypervolume_matches_counting_cells(dims):
    rng = np.random.default_rng(dims)
    reference = (7,) * dims
    for _ in range(20):
        points = rng.integers(0, 8, size=(int(rng.integers(1, 9)), dims))
        expected = _counted_volume(points.tolist(), reference)
        assert hypervolume(points, directions=["minimize"] * dims, reference=reference) == expected


def test_hypervolume_rejects_bad_input():
    with pytest.raises(ValueError, match="2 or 3 metrics"):
        hypervolume([(1, 2, 3, 4)], directions=["minimize"] * 4, reference=(5, 5, 5, 5))
    with pytest.raises(ValueError, match="finite"):
        hypervolume([(np.nan, 1)], directions=["minimize"] * 2, reference=(2, 2))


def test_hypervolume_history_by_hand():
    df = frame(
        [(1, 3), (0, 0), (2, 2), (3, 3), (3, 1)],
        columns=("params", "macs"),
        states=["COMPLETE", "FAIL", "COMPLETE", "COMPLETE", "COMPLETE"],
    )
    history = hypervolume_history(df, {"params": "minimize", "macs": "minimize"}, reference=(4, 4))
    assert list(history.columns) == ["number", "hypervolume", "cumulative_train_seconds"]
    assert history["number"].tolist() == [0, 1, 2, 3, 4]
    # (1,3): 3; the failed (0,0) adds nothing; (2,2): 5; dominated (3,3): 5; (3,1): 6.
    assert history["hypervolume"].tolist() == [3.0, 3.0, 5.0, 5.0, 6.0]
    assert history["cumulative_train_seconds"].tolist() == [0.0] * 5  # no train_seconds column


def test_default_reference_and_history_over_trial_numbers():
    # Rows out of order; the failed trial's huge params never set the reference.
    df = frame([(0.9, 100), (0.5, 1000), (0.8, 50)], states=["COMPLETE", "FAIL", "COMPLETE"])
    df["number"] = [2, 0, 1]
    assert default_reference(df, MAX_MIN) == (0.0, pytest.approx(110.0))
    history = hypervolume_history(df, MAX_MIN)
    assert history["number"].tolist() == [0, 1, 2]
    first = 0.8 * (110 - 50)
    both = 0.8 * (110 - 50) + (0.9 - 0.8) * (110 - 100)
    assert history["hypervolume"].tolist() == pytest.approx([0.0, first, both])


def test_history_counts_the_training_seconds_each_trial_spent():
    # (state, status, top5, params, train_seconds, reused_from), given in reverse number order
    rows = [
        ("RUNNING", None, np.nan, 120, np.nan, None),  # 7 still running: nothing recorded
        ("COMPLETE", "ok", 0.9, 200, 40.0, None),  # 6
        ("PRUNED", "stopped", np.nan, 50, 10.0, 1),  # 5 stopped again without training, like 1
        ("COMPLETE", "reused", 0.8, 100, 30.0, 0),  # 4 reused 0: its 30 s are trial 0's
        ("PRUNED", "infeasible", np.nan, 10, np.nan, None),  # 3 never trained
        ("FAIL", "failed", np.nan, 80, 5.0, None),  # 2 failed after 5 s
        ("PRUNED", "stopped", np.nan, 50, 10.0, None),  # 1 stopped at a rung after 10 s
        ("COMPLETE", "ok", 0.8, 100, 30.0, None),  # 0
    ]
    state, status, top5, params, seconds, reused_from = zip(*rows)
    df = pd.DataFrame(
        {
            "number": range(7, -1, -1),
            "state": state,
            "status": pd.array(status, dtype="string"),
            "top5": top5,
            "params": params,
            "train_seconds": seconds,
            "reused_from": pd.array(reused_from, dtype="Int64"),
        }
    )
    history = hypervolume_history(df, MAX_MIN)
    assert history["number"].tolist() == list(range(8))
    assert history["cumulative_train_seconds"].tolist() == [30, 40, 45, 45, 45, 45, 85, 85]
    # Only the completed trials 0, 4 and 6 count; the reference's params are 1.1 x 200 = 220.
    first = 0.8 * (220 - 100)
    assert history["hypervolume"].tolist() == pytest.approx([first] * 6 + [first + 0.1 * 20] * 2)


def test_history_with_no_eligible_trial_is_zero():
    df = frame([(0.9, 100)], states=["RUNNING"])
    assert hypervolume_history(df, MAX_MIN)["hypervolume"].tolist() == [0.0]


# ---------------------------------------------------------------------------- knee and effects


def test_knee_point_by_hand():
    # Front (top5 max, params min): (0.5, 1), (0.9, 2), (0.95, 10), plus a dominated point.
    # Scaled (1 = best): (0, 1), (0.889, 0.889), (1, 0): the middle one is farthest from the line.
    df = frame([(0.5, 1), (0.95, 10), (0.9, 2), (0.6, 5)], states=None)
    df.index = [10, 11, 12, 13]
    assert knee_point(df, MAX_MIN) == 12


def test_knee_point_single_point_and_ties():
    assert knee_point(frame([(0.9, 100)]), MAX_MIN) == 0
    # Two extremes only: equal scores, the first row wins.
    assert knee_point(frame([(0.9, 100), (0.95, 200)]), MAX_MIN) == 0


def test_effect_summary_by_hand():
    df = frame(
        [(0.90, 1), (0.80, 1), (0.70, 1), (0.99, 1)],
        states=["COMPLETE", "COMPLETE", "COMPLETE", "FAIL"],
    )
    df["sr"] = [0.125, 0.125, 0.5, 0.5]
    df["bypass"] = pd.array(["none", "simple", "simple", "none"], dtype="string")
    df["base_e"] = pd.array([128] * 4, dtype="Int64")  # not searched: left out
    summary = effect_summary(df, "top5")
    assert summary["metaparameter"].tolist() == ["sr", "sr", "bypass", "bypass"]
    assert summary["value"].tolist() == [0.125, 0.5, "none", "simple"]
    assert summary["count"].tolist() == [2, 1, 1, 2]
    assert summary["mean"].tolist() == pytest.approx([0.85, 0.70, 0.90, 0.75])
    assert summary["median"].tolist() == pytest.approx([0.85, 0.70, 0.90, 0.75])
    assert summary["min"].tolist() == pytest.approx([0.80, 0.70, 0.90, 0.70])
    only_sr = effect_summary(df, "top5", by=["sr"])
    assert set(only_sr["metaparameter"]) == {"sr"}
    assert effect_summary(df.iloc[:1], "top5").empty


# ---------------------------------------------------------------------------- loading


@pytest.fixture(scope="module")
def study_db(tmp_path_factory) -> tuple[str, list[int]]:
    """A factory study with every kind of trial; returns its URL and the expected front."""
    url = sqlite_url(tmp_path_factory.mktemp("study") / "study.db")
    study = create_study(url, study_name="micro")
    small = add_trial(study, top1=0.80, top5=0.95)
    big = add_trial(study, arch=small_arch(sr=0.5), top1=0.90, top5=0.99)
    reused = add_trial(study, status="reused", reused_from=small, top1=0.80, top5=0.95)
    add_trial(study, arch=small_arch(sr=0.25), top1=0.7, top5=0.94)  # dominated by `small`
    add_trial(study, status="failed")
    add_trial(study, status="infeasible", arch=small_arch(sr=1.0))
    add_trial(study, state="RUNNING")
    return url, [small, big, reused]


def test_load_trials_types_and_values(study_db):
    url, front = study_db
    df = load_trials(url)
    assert tuple(df.columns) == tuple(c.name for c in TRIAL_COLUMNS)
    assert {c: str(df[c].dtype) for c in df.columns} == {c.name: c.dtype for c in TRIAL_COLUMNS}
    assert df["number"].tolist() == list(range(7))
    assert df["state"].tolist() == ["COMPLETE"] * 4 + ["FAIL", "PRUNED", "RUNNING"]
    assert df["status"].tolist()[:6] == ["ok", "ok", "reused", "ok", "failed", "infeasible"]
    assert pd.isna(df.loc[6, "status"])
    assert df["pareto"].tolist() == [i in front for i in range(7)]
    assert df.loc[1, "params"] == 2_882_058  # small_arch(sr=0.5), counted on the built network
    assert df.loc[0, "pool_after"] == "conv1,fire3,fire5" and df.loc[0, "sr"] == 0.125
    assert df.loc[2, "reused_from"] == 0 and pd.isna(df.loc[0, "reused_from"])
    assert df.loc[4, "failure_reason"].startswith("training diverged")
    assert np.isnan(df.loc[4, "top5"]) and np.isnan(df.loc[5, "top1"])
    assert pd.isna(df.loc[6, "datetime_complete"]) and not pd.isna(df.loc[6, "datetime_start"])
    assert df.attrs["objectives"] == [("top5", "maximize"), ("params", "minimize")]
    # The study's own front is the front of its objective columns, and Optuna's own.
    assert df["pareto"].equals(pareto_front(df, df.attrs["objectives"]).rename("pareto"))
    best = optuna.load_study(study_name="micro", storage=url).best_trials
    assert sorted(t.number for t in best) == front


def test_missing_sqlite_file_is_an_error_and_stays_missing(tmp_path):
    missing = tmp_path / "nothing" / "here.db"
    beside = tmp_path / "here.db"
    for path in (missing, beside):
        with pytest.raises(StorageError, match="no such file"):
            load_trials(sqlite_url(path))
        assert not path.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "source, message",
    [
        ("sqlite://", "give an SQLite file"),
        ("sqlite:///:memory:", "give an SQLite file"),
        ("nosuchdb://host/x", "cannot open storage nosuchdb://host/x"),
        ("studies/micro", "cannot tell the format"),
        ("results.xlsx", "cannot tell the format"),
    ],
)
def test_bad_sources(source, message):
    with pytest.raises(StorageError, match=message):
        load_trials(source)


def test_unreachable_server_hides_password():
    with pytest.raises(StorageError) as caught:
        load_trials("postgresql://user:secret@127.0.0.1:1/db")
    assert "secret" not in str(caught.value) and "127.0.0.1" in str(caught.value)


def test_not_an_optuna_database(tmp_path):
    text = tmp_path / "text.db"
    text.write_text("hello")
    with pytest.raises(StorageError, match="not an SQLite database"):
        load_trials(sqlite_url(text))
    assert text.read_text() == "hello"


def test_study_choice(tmp_path):
    url = sqlite_url(tmp_path / "two.db")
    add_trial(create_study(url, study_name="alpha"), top1=0.5, top5=0.9)
    create_study(url, study_name="beta")
    with pytest.raises(StorageError, match="holds 2 studies; choose one .*: alpha, beta"):
        load_trials(url)
    with pytest.raises(StorageError, match="no study named 'gamma' .*studies there: alpha, beta"):
        load_trials(url, study_name="gamma")
    assert len(load_trials(url, study_name="alpha")) == 1
    assert load_trials(url, study_name="beta").empty


def test_empty_storage(tmp_path):
    url = sqlite_url(tmp_path / "none.db")
    optuna.storages.RDBStorage(url)  # tables, no study
    with pytest.raises(StorageError, match="holds no study yet"):
        load_trials(url)
    assert analysis.study_overviews(url) == []


def test_plain_optuna_study_without_sqzdse_attributes(tmp_path):
    url = sqlite_url(tmp_path / "plain.db")
    study = optuna.create_study(storage=url, directions=["minimize", "minimize"])
    for values in ([1, 2], [2, 1], [2, 2]):
        study.add_trial(optuna.trial.create_trial(values=values))
    df = load_trials(url)
    assert df["pareto"].tolist() == [True, True, False]
    assert df["params"].isna().all() and df["bypass"].isna().all()
    assert df.attrs["objectives"] == [("objective0", "minimize"), ("objective1", "minimize")]


def test_study_overviews(study_db):
    url, front = study_db
    (overview,) = analysis.study_overviews(url)
    assert overview.name == "micro" and overview.trials == 7 and overview.front_size == len(front)
    assert overview.states == {"RUNNING": 1, "COMPLETE": 4, "PRUNED": 1, "FAIL": 1, "WAITING": 0}
    assert overview.objectives == (("top5", "maximize"), ("params", "minimize"))


def test_analysis_never_imports_dash():
    source = Path(analysis.__file__).read_text()
    assert "import dash" not in source and "from dash" not in source
