"""Networks `sqzdse retrain` trained, in the main view: retrained trials and SqueezeNet baselines
at their mean test accuracy with the spread over their seeds; which split each accuracy is from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sqzdse import records
from sqzdse.arch import (
    preset,
)
from sqzdse.dashboard.figures._common import SECTION_ONLY, X_METRICS, Y_METRICS, check_axes
from sqzdse.dashboard.study_data import StudyData
from sqzdse.errors import ArchError
from sqzdse.records import Retraining, metric

if TYPE_CHECKING:  # annotations only: the main view imports this module
    from sqzdse.dashboard.figures.pareto import ParetoInfo


@dataclass(frozen=True)
class RetrainedPoint:
    """A network `sqzdse retrain` trained, in the main view: a trial of `study`, or a SqueezeNet
    preset trained as a baseline (`preset`) at its exact analytic x. `y` is its mean test accuracy
    over the seeds (top-1 or top-5, as the y axis), `spread` half the range over the seeds."""

    study: str
    x: float
    y: float
    spread: float
    by_seed: tuple[float, ...]
    metric: str  # retrained_test_top1 or retrained_test_top5
    trial: int | None = None
    preset: str | None = None
    val: float | None = None  # the mean validation accuracy of the same runs

    @property
    def label(self) -> str:
        if self.preset is not None:
            return f"SqueezeNet {self.preset} (retrained)"
        return f"{self.study} #{self.trial}"


def split_note(datas: Sequence[StudyData]) -> str:
    """Which studies shown are legacy (from before the three splits: their validation images were
    the official test images), as a short note; empty when every study records its splits."""
    legacy = [d.name for d in datas if d.splits is None]
    if not legacy:
        return ""
    where = "" if len(legacy) == len(datas) else f" in {', '.join(legacy)}"
    return f"legacy{where}: official test images"


def accuracy_title(y: str, datas: Sequence[StudyData]) -> str:
    """The y axis title: the metric, and which split of the studies shown its numbers are from.
    A search's accuracies (and a retrained network's validation accuracy) are on the validation
    split; a study from before the three splits measured them on the official test images."""
    label = Y_METRICS[y]
    if not datas or y.startswith("retrained_test_"):
        return label  # "retrained test top-1 accuracy" says its split
    note = split_note(datas)
    if "validation" in label:  # the retrained validation accuracy
        return f"{label} ({note})" if note else label
    return f"{label} (validation split{', ' if note else ''}{note})"


def retrained_metric(y: str) -> str | None:
    """The retrained test accuracy drawn beside the accuracy `y`: test top-1 beside a top-1, test
    top-5 beside a top-5; None beside a compressed or int8 network's accuracy (the retrained
    networks were neither compressed nor quantized) and beside a test accuracy (the trials' points
    are then those numbers)."""
    if metric(y).source in SECTION_ONLY or y.startswith("retrained_test_"):
        return None
    return "retrained_test_top5" if y.endswith("top5") else "retrained_test_top1"


def _retrained_point(block: Retraining, *, key: str, **fields) -> RetrainedPoint | None:
    """The point of one retraining block at the accuracy `key` (test_top1 or test_top5)."""
    mean = getattr(block, key)
    if mean is None:
        return None
    by_seed = block.by_seed(key)
    return RetrainedPoint(
        y=mean,
        spread=(max(by_seed) - min(by_seed)) / 2 if by_seed else 0.0,
        by_seed=by_seed,
        metric=f"retrained_{key}",
        val=getattr(block, key.removeprefix("test_")),
        **fields,
    )


def retrained_info(
    datas: Sequence[StudyData], *, x: str, y: str
) -> tuple[tuple[RetrainedPoint, ...], tuple[str, ...]]:
    """The networks `sqzdse retrain` trained in each study, at their test accuracy
    (`retrained_metric` of `y`): its retrained trials with `x` (a trial reusing a retrained twin's
    result is that twin), and its retrained SqueezeNet baselines at their exact analytic `x` (none
    for a measured x, with a note). None against a compressed or int8 cost: the retrained weights
    were neither compressed nor quantized."""
    check_axes(x=x, y=y)
    test = retrained_metric(y)
    if test is None:
        return (), ()
    if metric(x).source in SECTION_ONLY:
        done = "compressed" if metric(x).source is records.Source.COMPRESSED else "quantized"
        retrained = [d.name for d in datas if d.baselines or _retrained_rows(d, test).any()]
        return (), tuple(
            f"{name}: the retrained networks are not drawn against {metric(x).label}: their "
            f"retrained weights were not {done}"
            for name in retrained
        )
    key = test.removeprefix("retrained_")
    points, notes = [], []
    for data in datas:
        df = data.frame
        if len(df):
            rows = df.loc[_retrained_rows(data, test) & df[x].notna()]
            numbers = set(rows["number"].tolist())
            for number, twin, xv in zip(rows["number"], rows["reused_from"], rows[x]):
                if not pd.isna(twin) and int(twin) in numbers:
                    continue
                block = data.records[int(number)].retrained
                assert block is not None  # `_retrained_rows` keeps trials with a block
                point = _retrained_point(
                    block, key=key, study=data.name, x=float(xv), trial=int(number)
                )
                points.extend([point] if point else [])
        skipped: dict[str, list[str]] = {}  # why -> presets
        for name, block in sorted(data.baselines.items()):
            cost = _baseline_cost(data, name, block, x)
            if isinstance(cost, str):
                skipped.setdefault(cost, []).append(name)
                continue
            point = _retrained_point(block, key=key, study=data.name, x=cost, preset=name)
            points.extend([point] if point else [])
        for why, names in skipped.items():
            were = "was" if len(names) == 1 else "were"
            notes.append(
                f"{data.name}: SqueezeNet {' and '.join(names)} {were} retrained but "
                f"{'is' if len(names) == 1 else 'are'} not drawn: {why}"
            )
    return tuple(points), tuple(notes)


def _retrained_rows(data: StudyData, test: str) -> pd.Series:
    """Mask of the trials of `data` with a retraining block and its `test` accuracy."""
    blocks = [getattr(data.records.get(int(n)), "retrained", None) for n in data.frame["number"]]
    has_block = pd.Series([b is not None for b in blocks], index=data.frame.index, dtype=bool)
    return has_block & data.frame[test].notna()


def _baseline_cost(data: StudyData, name: str, block: Retraining, x: str) -> float | str:
    """The exact `x` of preset `name` as `sqzdse retrain` trained it (the study's classes, the
    resolution it trained at), or why there is none."""
    if metric(x).source is not records.Source.ANALYTIC:
        return f"{metric(x).label} is not known from the architecture"
    if data.num_classes is None:
        return "the study does not record its number of classes"
    resolution = block.settings.get("resolution") or data.resolution
    if not isinstance(resolution, int):
        if metric(x).per_image:
            return f"the resolution it trained at is unknown, so is its {metric(x).label}"
        resolution = 224
    try:
        cfg = preset(name, num_classes=data.num_classes, resolution=resolution)
    except (ArchError, ValueError, KeyError) as err:
        return str(err)
    return float(records.analytic_metrics(cfg)[x])


def seed_text(point: RetrainedPoint) -> str:
    write = metric(point.metric).format
    seeds = len(point.by_seed)
    if seeds < 2:
        return write(point.y)
    return (
        f"{write(point.y)} ± {point.spread:.2%} over {seeds} seeds "
        f"({', '.join(write(v) for v in point.by_seed)})"
    )


def retrained_hover(point: RetrainedPoint, x: str) -> str:
    """What the hover of a retrained network says: what it is, that its accuracy is on the test
    split, over how many seeds, and its validation accuracy beside."""
    k = metric(point.metric).short.removeprefix("test ")
    lines = [
        f"<b>{point.label}</b> retrained, test split",
        f"test {k} {seed_text(point)}",
    ]
    if point.val is not None:
        lines.append(f"validation {k} {metric(point.metric).format(point.val)} (same runs)")
    lines.append(f"{X_METRICS[x]} {metric(x).format(point.x)}")
    return "<br>".join(lines)


RETRAINED_COLOR = "#d95f02"


def add_retrained(fig: go.Figure, info: ParetoInfo, symbols: dict, several: bool) -> None:
    """The retrained trials of each study as one series of diamonds with error bars, and each
    retrained baseline as a labelled point."""
    for study in info.studies:
        pts = [p for p in info.retrained if p.study == study and p.preset is None]
        if not pts:
            continue
        of = f" of {study}" if several else ""
        fig.add_trace(
            go.Scatter(
                x=[p.x for p in pts],
                y=[p.y for p in pts],
                mode="markers",
                name=f"retrained{of}, test split ({len(pts)})",
                marker={
                    "size": 11,
                    "symbol": "diamond",
                    "color": RETRAINED_COLOR,
                    "line": {"color": "black", "width": 1},
                },
                error_y=_error_bars(pts),
                customdata=[[p.study, p.trial] for p in pts],
                hovertext=[retrained_hover(p, info.x) for p in pts],
                hoverinfo="text",
                meta={"role": "retrained", "study": study},
            )
        )
    baselines = [p for p in info.retrained if p.preset is not None]
    if not baselines:
        return
    # v1.0 and v1.1 have nearly the same parameters: the higher one's label goes above it, and
    # both labels reach towards the middle of the (log) x axis, so neither runs off the plot.
    where = np.log10([p.x for p in baselines])
    xs = np.log10([*info.drawn("x"), *(p.x for p in baselines)])
    side = "left" if where.mean() > (np.nanmin(xs) + np.nanmax(xs)) / 2 else "right"
    for p in baselines:
        highest = p.y >= max(q.y for q in baselines if q.study == p.study)
        fig.add_trace(
            go.Scatter(
                x=[p.x],
                y=[p.y],
                mode="markers+text",
                name=f"{p.label} in {p.study}" if several else p.label,
                text=[p.label],
                textposition=f"{'top' if highest else 'bottom'} {side}",
                textfont={"size": 11, "color": RETRAINED_COLOR},
                marker={
                    "size": 16,
                    "symbol": "star-diamond",
                    "color": RETRAINED_COLOR,
                    "line": {"color": "black", "width": 1},
                },
                error_y=_error_bars([p]),
                hovertext=[retrained_hover(p, info.x)],
                hoverinfo="text",
                meta={"role": "retrained_baseline", "preset": p.preset, "study": p.study},
            )
        )


def _error_bars(points: Sequence[RetrainedPoint]) -> dict:
    return {
        "type": "data",
        "array": [p.spread for p in points],
        "visible": True,
        "color": RETRAINED_COLOR,
        "thickness": 1.5,
        "width": 4,
    }
