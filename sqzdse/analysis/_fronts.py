"""Fronts, ranks, hypervolumes, knees and effects: pure functions on a trials DataFrame.

Metrics are given as `{"top5": "maximize", "params": "minimize"}`, as
`[("top5", "maximize"), ...]`, or as bare names (`["top5", "params"]`), which take their direction
from the metric table (`sqzdse.records.METRICS`).

Only COMPLETE trials with every metric present take part in a front: failed, pruned (infeasible),
running and waiting trials never do. Dominance is the usual one: a point dominates another when it
is at least as good in every metric and strictly better in one. So identical points never dominate
each other and are all on the front together (a reused duplicate architecture sits beside the trial
it reused).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping

import numpy as np
import pandas as pd

from sqzdse import records
from sqzdse.dominance import as_minimization, front_mask, pareto_ranks

DIRECTIONS = ("maximize", "minimize")

Metrics = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[str]


# ---------------------------------------------------------------------------- metrics and fronts


def normalize_metrics(metrics: Metrics) -> list[tuple[str, str]]:
    """(name, direction) pairs from a dict, a list of pairs or a list of names (records.METRICS)."""
    items = metrics.items() if isinstance(metrics, Mapping) else metrics
    if isinstance(items, str):
        raise ValueError(f"`metrics` must be several metrics, got the string {items!r}")
    pairs = []
    for item in items:
        if isinstance(item, str):
            if item not in records.METRICS:
                raise ValueError(
                    f"`metrics` names {item!r} without a direction; give "
                    f"({item!r}, 'maximize' or 'minimize')"
                )
            item = (item, records.METRICS[item].direction)
        name, direction = item
        if direction not in DIRECTIONS:
            raise ValueError(
                f"direction of {name!r} must be 'maximize' or 'minimize', got {direction!r}"
            )
        pairs.append((name, direction))
    names = [name for name, _ in pairs]
    if not pairs:
        raise ValueError("`metrics` is empty; give at least one metric")
    if len(set(names)) != len(names):
        raise ValueError(f"`metrics` names a metric twice: {names}")
    return pairs


def eligible_rows(df: pd.DataFrame, metrics: Metrics) -> pd.Series:
    """Boolean mask of the rows that take part in a front: COMPLETE (when the frame has a `state`
    column) with every metric present."""
    pairs = normalize_metrics(metrics)
    _require_columns(df, [name for name, _ in pairs])
    mask = df[[name for name, _ in pairs]].notna().all(axis=1)
    if "state" in df.columns:
        mask &= (df["state"] == "COMPLETE").fillna(False).astype(bool)
    return mask.astype(bool)


def pareto_front(df: pd.DataFrame, metrics: Metrics) -> pd.Series:
    """Boolean Series (index of `df`): True for the rows on the Pareto front of `metrics`.

    Works over any number of metrics (typically 2 or 3). Ineligible rows (not COMPLETE, or a metric
    missing) are False and dominate nothing. Identical points are all on the front.
    """
    pairs = normalize_metrics(metrics)
    points = _minimization_points(df, pairs)
    return pd.Series(front_mask(points), index=df.index, name="pareto")


def pareto_rank(df: pd.DataFrame, metrics: Metrics) -> pd.Series:
    """Non-dominated sorting rank (Int64 Series): 0 on the front, 1 on the front of the rest, ...

    A row's rank is the length of the longest chain of rows dominating it. Ineligible rows are <NA>.
    """
    pairs = normalize_metrics(metrics)
    points = _minimization_points(df, pairs)
    ranks = pd.array([pd.NA] * len(df), dtype="Int64")
    eligible = ~np.isnan(points).any(axis=1)
    ranks[eligible] = pareto_ranks(points[eligible])
    return pd.Series(ranks, index=df.index, name="pareto_rank")


def _require_columns(df: pd.DataFrame, names: list[str]) -> None:
    missing = [name for name in names if name not in df.columns]
    if missing:
        numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
        raise ValueError(
            f"no column {', '.join(map(repr, missing))} in the trials; numeric columns: "
            f"{', '.join(numeric)}"
        )


def _minimization_points(df: pd.DataFrame, pairs: list[tuple[str, str]]) -> np.ndarray:
    """(n, d) float array to minimize; NaN rows for ineligible trials."""
    mask = eligible_rows(df, pairs).to_numpy()
    points = np.full((len(df), len(pairs)), np.nan)
    values = df[[name for name, _ in pairs]].astype("float64").to_numpy()
    points[mask] = values[mask]
    return as_minimization(points, [direction for _, direction in pairs])


# ---------------------------------------------------------------------------- hypervolume


def hypervolume(points, *, directions: Iterable[str], reference: Iterable[float]) -> float:
    """Exact hypervolume of 2- or 3-dimensional points: the volume dominated by the points and
    bounded by `reference`.

    `points` is an (n, d) array-like, `directions` d of "maximize" / "minimize", `reference` d
    numbers worse than or equal to the points of interest; points that are not strictly better than
    the reference in every metric add nothing. An empty set of points has hypervolume 0.
    """
    directions = list(directions)
    _check_hypervolume_dimensions(len(directions))
    for d in directions:
        if d not in DIRECTIONS:
            raise ValueError(f"each direction must be 'maximize' or 'minimize', got {d!r}")
    reference = _checked_reference(reference, len(directions))
    points = np.asarray(points, dtype=float).reshape(-1, len(directions))
    if not np.isfinite(points).all():
        raise ValueError("`points` must be finite; drop rows with missing metrics first")
    return _volume(as_minimization(points, directions), as_minimization(reference, directions))


def _check_hypervolume_dimensions(dimensions: int) -> None:
    if dimensions not in (2, 3):
        raise ValueError(f"hypervolume is exact for 2 or 3 metrics, got {dimensions}")


def _checked_reference(reference: Iterable[float], dimensions: int) -> np.ndarray:
    reference = np.asarray(list(reference), dtype=float)
    if reference.shape != (dimensions,) or not np.isfinite(reference).all():
        raise ValueError(f"`reference` must be {dimensions} finite numbers, got {reference}")
    return reference


def _volume(points: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume of points to minimize; points outside the reference box add nothing."""
    points = points[np.all(points < reference, axis=1)]
    if points.shape[1] == 2:
        return _hypervolume_2d(points, reference)
    return _hypervolume_3d(points, reference)


def _hypervolume_2d(points: np.ndarray, reference: np.ndarray) -> float:
    """Area of the staircase: sweep x upwards, each point adds the strip below the best y so far."""
    if len(points) == 0:
        return 0.0
    points = points[np.lexsort((points[:, 1], points[:, 0]))]
    best_y = np.minimum.accumulate(points[:, 1])
    previous_y = np.concatenate(([reference[1]], best_y[:-1]))
    return float(np.sum((reference[0] - points[:, 0]) * (previous_y - best_y)))


def _hypervolume_3d(points: np.ndarray, reference: np.ndarray) -> float:
    """Sum of slabs: between consecutive z values the cross-section is the 2-D hypervolume of the
    points at or below that z."""
    points = points[np.argsort(points[:, 2], kind="stable")]
    z = np.append(points[:, 2], reference[2])
    total = 0.0
    for k in range(len(points)):
        depth = z[k + 1] - z[k]
        if depth > 0:
            total += _hypervolume_2d(points[: k + 1, :2], reference[:2]) * depth
    return total


def default_reference(df: pd.DataFrame, metrics: Metrics) -> tuple[float, ...]:
    """The reference point used when none is given.

    A maximized metric: 0 (every sqzdse metric to maximize, accuracy and throughput, is >= 0, so 0
    is the worst possible value and the same for every study). A minimized metric: 1.1 x the largest
    value among the eligible rows, so the extreme points of the front still add volume. NaN where no
    row is eligible.
    """
    pairs = normalize_metrics(metrics)
    eligible = df.loc[eligible_rows(df, pairs)]
    reference = []
    for name, direction in pairs:
        if direction == "maximize":
            reference.append(0.0)
        else:
            worst = float(eligible[name].max()) if len(eligible) else math.nan
            reference.append(1.1 * worst)
    return tuple(reference)


def hypervolume_history(
    df: pd.DataFrame, metrics: Metrics, *, reference: Iterable[float] | None = None
) -> pd.DataFrame:
    """Hypervolume of the trials numbered up to each trial, and the training seconds they spent:
    columns `number`, `hypervolume` and `cumulative_train_seconds`.

    One row per row of `df`, in trial-number order; ineligible trials repeat the value before them.
    `reference` defaults to `default_reference(df, metrics)` over the whole frame, so every row of
    the history is measured against the same point.

    `cumulative_train_seconds` sums `train_seconds` over the trials up to and including each one: a
    missing value counts 0, and so does a trial that reused another's result (`reused_from` set, or
    status `reused`), whose `train_seconds` are the original's. So stopped and failed trials add
    the seconds they trained, infeasible ones nothing. A frame without `train_seconds` spent none.
    """
    pairs = normalize_metrics(metrics)
    _check_hypervolume_dimensions(len(pairs))
    ordered = df.sort_values("number", kind="stable")
    points = _minimization_points(ordered, pairs)
    history = np.zeros(len(ordered))
    if (~np.isnan(points).any(axis=1)).any():
        reference = default_reference(df, pairs) if reference is None else reference
        reference = as_minimization(
            _checked_reference(reference, len(pairs)), [d for _, d in pairs]
        )
        front = np.empty((0, len(pairs)))  # the front so far, in minimization form
        volume = 0.0
        for k, point in enumerate(points):
            if not np.isnan(point).any() and not np.any(np.all(front <= point, axis=1)):
                front = np.vstack([front[~np.all(point <= front, axis=1)], point])
                volume = _volume(front, reference)
            history[k] = volume
    return pd.DataFrame(
        {
            "number": ordered["number"].to_numpy(dtype=np.int64),
            "hypervolume": history,
            "cumulative_train_seconds": np.cumsum(_spent_seconds(ordered)),
        }
    )


def _spent_seconds(df: pd.DataFrame) -> np.ndarray:
    """The training seconds each trial spent itself (a reused result cost nothing)."""
    if records.TRAIN_SECONDS not in df.columns:
        return np.zeros(len(df))
    seconds = df[records.TRAIN_SECONDS].astype("float64").fillna(0.0).to_numpy()
    reused = np.zeros(len(df), dtype=bool)
    if "reused_from" in df.columns:
        reused |= df["reused_from"].notna().to_numpy()
    if "status" in df.columns:
        reused |= (df["status"] == records.Status.REUSED).fillna(False).to_numpy(dtype=bool)
    return np.where(reused, 0.0, seconds)


# ---------------------------------------------------------------------------- knee and effects


def knee_point(df: pd.DataFrame, metrics: Metrics) -> Hashable | None:
    """Index label of the knee of the Pareto front of `metrics`, or None when the front is empty.

    Each metric is scaled over the front to [0, 1] with 1 the best value (a metric without range on
    the front scores 0). The knee is the front point farthest beyond the line (the plane, for three
    metrics) through the unit points (1, 0) and (0, 1): the one with the largest sum of scaled
    scores. For two metrics that line joins the two extreme points of the front, the classic
    "maximum distance to the line between extremes". Ties go to the first row of `df`.
    """
    pairs = normalize_metrics(metrics)
    on_front = pareto_front(df, pairs)
    if not on_front.any():
        return None
    front = df.loc[on_front, [name for name, _ in pairs]].astype("float64").to_numpy()
    goodness = -as_minimization(front, [d for _, d in pairs])
    low, high = goodness.min(axis=0), goodness.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = np.where(high > low, (goodness - low) / span, 0.0)
    return on_front.index[on_front.to_numpy()][int(np.argmax(scaled.sum(axis=1)))]


def effect_summary(
    df: pd.DataFrame, metric: str, *, by: Iterable[str] | None = None
) -> pd.DataFrame:
    """How `metric` varies with each searched design choice, over COMPLETE trials that have it.

    Long format, one row per (metaparameter, value): columns `metaparameter`, `value`, `count`,
    `mean`, `median`, `min`, `max`, sorted by metaparameter order then value. `by` defaults to every
    column of `records.DESIGN_COLUMNS` that takes more than one value among those trials.
    """
    _require_columns(df, [metric])
    rows = df.loc[eligible_rows(df, [(metric, "maximize")])]
    if by is None:
        by = [
            c
            for c in records.DESIGN_COLUMNS
            if c in rows.columns and rows[c].nunique(dropna=True) > 1
        ]
    by = list(by)
    _require_columns(df, by)
    parts = []
    for column in by:
        stats = rows.groupby(column, dropna=True, sort=True)[metric].agg(
            ["count", "mean", "median", "min", "max"]
        )
        stats = stats.reset_index().rename(columns={column: "value"})
        stats["value"] = stats["value"].astype(object)
        stats.insert(0, "metaparameter", column)
        parts.append(stats)
    if not parts:
        return pd.DataFrame(
            {
                "metaparameter": pd.Series(dtype="string"),
                "value": pd.Series(dtype=object),
                "count": pd.Series(dtype="int64"),
                **{s: pd.Series(dtype="float64") for s in ("mean", "median", "min", "max")},
            }
        )
    summary = pd.concat(parts, ignore_index=True)
    summary["metaparameter"] = summary["metaparameter"].astype("string")
    summary["count"] = summary["count"].astype("int64")
    for stat in ("mean", "median", "min", "max"):
        summary[stat] = summary[stat].astype("float64")
    return summary
