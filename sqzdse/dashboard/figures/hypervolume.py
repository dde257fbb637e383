"""The hypervolume view: each study's dominated hypervolume against the training time spent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from sqzdse import analysis
from sqzdse.dashboard.figures._common import (
    PALETTE,
    X_METRICS,
    Y_METRICS,
    combined_frame,
    empty_figure,
    shown_metrics,
)
from sqzdse.dashboard.study_data import StudyData


@dataclass(frozen=True, eq=False)
class HypervolumeInfo:
    """Hypervolume of (`y` up, `x` down) after each trial, per study, against one reference."""

    x: str
    y: str
    reference: tuple[float, ...] | None  # (y, x); None when no trial is eligible
    # study -> columns number, hypervolume, cumulative_train_seconds (analysis.hypervolume_history)
    series: dict[str, pd.DataFrame]


def hypervolume_info(datas: Sequence[StudyData], *, x: str, y: str) -> HypervolumeInfo:
    """The hypervolume history of each study. The reference point is shared by all studies shown
    (accuracy 0, 1.1 x the largest x among their eligible trials), so their curves compare."""
    metrics = shown_metrics(x=x, y=y)
    frame = combined_frame(datas)
    if not analysis.eligible_rows(frame, metrics).any():
        return HypervolumeInfo(x=x, y=y, reference=None, series={})
    reference = analysis.default_reference(frame, metrics)
    series = {
        d.name: analysis.hypervolume_history(d.frame, metrics, reference=reference)
        for d in datas
        if len(d.frame)
    }
    return HypervolumeInfo(x=x, y=y, reference=tuple(reference), series=series)


def hypervolume_figure(info: HypervolumeInfo) -> go.Figure:
    """Hypervolume against the training seconds spent so far (stopped and failed trials spent
    some too), one step line per study; the hover names the trial."""
    if info.reference is None:
        return empty_figure("The hypervolume appears once a trial has finished.")
    fig = go.Figure()
    for i, (study, history) in enumerate(info.series.items()):
        fig.add_trace(
            go.Scatter(
                x=history["cumulative_train_seconds"],
                y=history["hypervolume"],
                customdata=history["number"],
                mode="lines",
                name=study,
                line={"shape": "hv", "color": PALETTE[i % len(PALETTE)]},
                hovertemplate="after trial #%{customdata}: %{x:,.1f} training seconds, "
                "hypervolume %{y:.4g}",
            )
        )
    ref_y, ref_x = info.reference
    fig.update_layout(
        template="plotly_white",
        height=320,
        margin={"l": 70, "r": 20, "t": 50, "b": 50},
        title={
            "text": f"Hypervolume of {Y_METRICS[info.y]} vs {X_METRICS[info.x]}<br><sup>"
            f"reference point: {info.y} = {ref_y:g}, {info.x} = {ref_x:,.0f}</sup>",
            "font": {"size": 14},
        },
        xaxis={"title": {"text": "cumulative training seconds"}},
        yaxis={"title": {"text": "hypervolume"}},
        showlegend=len(info.series) > 1,
        uirevision=f"{info.x}|{info.y}",
    )
    return fig
