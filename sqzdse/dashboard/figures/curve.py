"""A trial's learning curve: validation accuracy and training loss per epoch."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from sqzdse.dashboard.figures._common import empty_figure, percent_format
from sqzdse.records import Epoch


def curve_figure(curve: Sequence[Epoch], *, title: str = "") -> go.Figure:
    """Accuracy per epoch (left axis) and training loss (right axis) of one trial's `curve`."""
    if not curve:
        return empty_figure("No learning curve recorded for this trial.")
    epochs = [e.epoch for e in curve]
    accuracy = {"top-1": [e.top1 for e in curve], "top-5": [e.top5 for e in curve]}
    fig = go.Figure()
    for (name, values), color in zip(accuracy.items(), ("#1f77b4", "#2ca02c")):
        fig.add_trace(
            go.Scatter(x=epochs, y=values, name=name, mode="lines+markers", line={"color": color})
        )
    fig.add_trace(
        go.Scatter(
            x=epochs,
            y=[e.train_loss for e in curve],
            yaxis="y2",
            name="training loss",
            mode="lines+markers",
            line={"dash": "dash", "color": "#d62728"},
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=280,
        margin={"l": 60, "r": 60, "t": 40, "b": 40},
        title={"text": title, "font": {"size": 13}},
        xaxis={"title": {"text": "epoch"}, "dtick": 1},
        yaxis={
            "title": {"text": "validation accuracy"},
            "tickformat": percent_format([v for values in accuracy.values() for v in values]),
        },
        yaxis2={
            "title": {"text": "training loss"},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
