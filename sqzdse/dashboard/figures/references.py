"""SqueezeNet v1.0 and v1.1 as references in the main view: at their exact cost, as a study's
measured trial where one trained that very network, at each resolution the studies' trials have
(domain logic, no drawing but the reference marks)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from sqzdse import analysis, records
from sqzdse.arch import (
    ARCH_FIELDS,
    ArchConfig,
    Group,
    preset,
)
from sqzdse.dashboard.figures._common import PRESETS, check_axes
from sqzdse.dashboard.study_data import StudyData
from sqzdse.errors import ArchError
from sqzdse.records import metric

if TYPE_CHECKING:  # annotations only: the main view imports this module
    from sqzdse.dashboard.figures.pareto import ParetoInfo
    from sqzdse.dashboard.figures.retrained import RetrainedPoint


@dataclass(frozen=True)
class Reference:
    """A SqueezeNet preset in the main view: a measured trial, or only its exact size."""

    preset: str  # "v1.0" or "v1.1"
    study: str
    x: float  # its value of the x metric (analytic, exact)
    num_classes: int
    trial: int | None = None  # the trial of `study` that trained exactly this network
    y: float | None = None  # that trial's accuracy; None when the study did not train it
    # its input's side in pixels, given where the study's trials have several (a searched
    # resolution): one reference per preset and resolution
    resolution: int | None = None

    @property
    def name(self) -> str:
        """`SqueezeNet v1.0`, or `SqueezeNet v1.0 at 24 px` beside others of other resolutions."""
        at = "" if self.resolution is None else f" at {self.resolution} px"
        return f"SqueezeNet {self.preset}{at}"

    @property
    def label(self) -> str:
        if self.trial is not None:
            return f"{self.name} (trial #{self.trial} of {self.study})"
        return f"{self.name}: size only, accuracy not measured here"


def unmeasured(
    references: Sequence[Reference], retrained: Sequence[RetrainedPoint] = ()
) -> list[Reference]:
    """The references to draw as a size-only line: one per (preset, x), and none where a study
    shown measured that same network (its star says more) or retrained it as a baseline."""
    measured = {(r.preset, r.x) for r in references if r.trial is not None}
    measured |= {(p.preset, p.x) for p in retrained if p.preset is not None}
    lines, seen = [], set()
    for ref in references:
        key = (ref.preset, ref.x)  # one line where resolutions give the same x (parameters)
        if ref.trial is None and key not in measured and key not in seen:
            seen.add(key)
            lines.append(ref)
    return lines


_NETWORK_FIELDS = tuple(f.name for f in ARCH_FIELDS if f.group is not Group.TRAINING)


def _same_network(arch: ArchConfig | None, cfg: ArchConfig) -> bool:
    """Whether `arch` is the network `cfg` (dropout, a training setting, aside)."""
    return arch is not None and all(getattr(arch, f) == getattr(cfg, f) for f in _NETWORK_FIELDS)


# Why a measured x metric has no SqueezeNet reference: how its values come about.
MEASURED_HOW = {
    records.Source.MEASURED: "it is measured on the search's machine",
    records.Source.COMPRESSED: "it is measured by compressing each trial's trained weights",
    records.Source.QUANTIZED: "it is measured by running each trial's int8 network with ONNX "
    "Runtime",
}


def reference_info(
    datas: Sequence[StudyData], *, x: str, y: str
) -> tuple[tuple[Reference, ...], tuple[str, ...]]:
    """SqueezeNet v1.0 / v1.1 for each study: their x value is exact (at the study's classes and,
    for MACs, its resolution; none for a measured x such as latency or compressed size); their
    accuracy is known only where the study trained exactly that network (a COMPLETE trial with
    `y`), never otherwise."""
    check_axes(x=x, y=y)
    references, notes = [], []
    for data in datas:
        if data.num_classes is None:
            notes.append(
                f"{data.name}: no SqueezeNet reference, the study does not record its "
                "number of classes"
            )
            continue
        if metric(x).source is not records.Source.ANALYTIC:
            how = MEASURED_HOW.get(metric(x).source, "it is measured")
            notes.append(
                f"{data.name}: no SqueezeNet reference for {metric(x).label}: {how}, not known "
                "from the architecture"
            )
            continue
        resolutions = _resolutions(data)
        if metric(x).per_image and not resolutions:
            notes.append(
                f"{data.name}: no SqueezeNet reference for {metric(x).label}, the study "
                "does not record its training resolution"
            )
            continue
        df = data.frame
        measured = df.loc[analysis.eligible_rows(df, {y: "maximize"}), ["number", y]]
        accuracy = dict(zip(measured["number"].tolist(), measured[y].tolist()))
        several = len(resolutions) > 1
        for resolution, name in itertools.product(resolutions or (224,), PRESETS):
            try:
                cfg = preset(name, num_classes=data.num_classes, resolution=resolution)
                costs = records.analytic_metrics(cfg)
            except ArchError as err:
                notes.append(
                    f"{data.name}: SqueezeNet {name} does not fit {resolution}x"
                    f"{resolution} inputs ({err})"
                )
                continue
            trial = next(
                (
                    n
                    for n in sorted(accuracy)
                    if _same_network(getattr(data.records.get(n), "arch", None), cfg)
                ),
                None,
            )
            references.append(
                Reference(
                    preset=name,
                    study=data.name,
                    x=float(costs[x]),
                    num_classes=data.num_classes,
                    trial=trial,
                    y=None if trial is None else float(accuracy[trial]),
                    resolution=resolution if several else None,
                )
            )
    return tuple(references), tuple(notes)


def _resolutions(data: StudyData) -> tuple[int, ...]:
    """The input sizes a study's networks take: its training resolution, or where its space
    searched it (`training.resolution` stored as a range or choices), every one its trials have,
    smallest first; empty when it records none."""
    if data.resolution is not None:
        return (data.resolution,)
    if not isinstance(data.training.get("resolution"), dict) or "resolution" not in data.frame:
        return ()
    return tuple(sorted({int(r) for r in data.frame["resolution"].dropna()}))


# The size-only labels sit in a band above every point drawn, one row each (fractions of the
# plot's height: a 520-pixel figure gives a row about 26 pixels, twice an 11-pixel label).
LABEL_ROW = 0.06
LABEL_GAP = 0.02  # between the highest point and the lowest label row
BOTTOM_PAD = 0.04  # below the lowest point


@dataclass(frozen=True)
class LabelBand:
    """Where the size-only labels go: the y range that leaves `rows` rows above the points drawn
    (in `low`..`high`), and the top of the points as a fraction of the plot's height."""

    y_range: tuple[float, float]
    points_top: float  # paper coordinate (0 bottom, 1 top of the plot) of `high`
    rows: int

    def row_y(self, row: int) -> float:
        """Paper coordinate of the top of label row `row` (0: the top row)."""
        return 1.0 - LABEL_ROW * row


def label_band(low: float, high: float, rows: int) -> LabelBand:
    """The y range that shows `low`..`high` below `rows` label rows, so that no label can cover a
    point (and none another: one row each)."""
    span = high - low if high > low else max(abs(high) * 0.1, 0.01)
    band = LABEL_ROW * rows + LABEL_GAP
    total = span / (1.0 - BOTTOM_PAD - band)
    bottom = low - BOTTOM_PAD * total
    return LabelBand(
        y_range=(bottom, bottom + total),
        points_top=(high - bottom) / total,
        rows=rows,
    )


def add_references(fig: go.Figure, info: ParetoInfo) -> None:
    """The measured references as stars, and each size-only reference as a dotted vertical line
    whose label sits in a row of its own above every point, on the side of the line facing the
    middle of the plot."""
    ys = info.drawn("y")
    spreads = [p.y + p.spread for p in info.retrained]  # error bars reach above their points
    low, high = float(np.nanmin(ys)), float(np.nanmax([*ys, *spreads]))
    for ref in info.references:
        if ref.trial is not None:
            fig.add_trace(
                go.Scatter(
                    x=[ref.x],
                    y=[ref.y],
                    mode="markers+text",
                    name=ref.label,
                    text=[ref.name],
                    textposition="top center",
                    marker={
                        "symbol": "star",
                        "size": 18,
                        "color": "gold",
                        "line": {"color": "black", "width": 1},
                    },
                    customdata=[[ref.study, ref.trial]],
                    hoverinfo="name",
                    meta={"role": "reference", "preset": ref.preset},
                )
            )
    lines = sorted(info.size_only(), key=lambda r: r.x)
    if not lines:
        return
    band = label_band(low, high, len(lines))
    xs = np.log10([*info.drawn("x"), *(r.x for r in lines)])
    middle = (xs.min() + xs.max()) / 2
    for row, ref in enumerate(lines):
        fig.add_trace(
            go.Scatter(
                x=[ref.x, ref.x],
                y=[low, band.y_range[1]],
                mode="lines",
                name=ref.label,
                line={"dash": "dot", "color": "#555", "width": 1.5},
                hoverinfo="name",
                meta={"role": "reference", "preset": ref.preset},
            )
        )
        left = np.log10(ref.x) > middle  # the label goes towards the middle
        fig.add_annotation(
            x=float(np.log10(ref.x)),  # a log axis places annotations by the log of x
            y=band.row_y(row),
            xref="x",
            yref="paper",
            xanchor="right" if left else "left",
            yanchor="top",
            xshift=-4 if left else 4,
            text=f"{ref.name}, size only",
            showarrow=False,
            font={"size": 11, "color": "#555"},
            bgcolor="rgba(255, 255, 255, 0.85)",
            name=f"size only {ref.preset}",
        )
    fig.update_yaxes(range=list(band.y_range))
