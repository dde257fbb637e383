"""What every view of the dashboard shares: the axes a user can choose, colours and symbols,
the studies' trials in one frame, and how numbers are written."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sqzdse import analysis, records
from sqzdse.arch import (
    DESIGN_GROUPS,
    PRESET_NAMES,
    fields_of,
)
from sqzdse.dashboard.study_data import StudyData
from sqzdse.records import Role, metric, metrics_of

# The axes a user can choose: metric -> axis title. Costs known for every trial go on x.
X_METRICS: dict[str, str] = {name: metric(name).label for name in metrics_of(role=Role.COST)}


Y_METRICS: dict[str, str] = {name: metric(name).label for name in metrics_of(role=Role.ACCURACY)}


# What the points can be coloured by: column -> label.
COLOR_COLUMNS: dict[str, str] = {
    "bypass": "bypass",  # the default
    **{f.name: f.label for f in fields_of(*DESIGN_GROUPS, column=True)},
    "status": "status",
    "study": "study",
}


PRESETS = PRESET_NAMES


MAX_CATEGORIES = 12  # a colour column with more distinct numbers gets a continuous colour scale


SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star-triangle-up")


PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)


FRONT_COLORS = ("#111111", "#b30000", "#00509e", "#006d2c", "#6a3d9a", "#b15928")


STOPPED_COLOR = "#555555"


START_SEARCH = "sqzdse search --space micro.yaml"


def check_axes(*, x: str, y: str) -> None:
    """Raise ValueError unless `x` and `y` are metrics the main view can show."""
    if x not in X_METRICS:
        raise ValueError(f"`x` must be one of {', '.join(X_METRICS)}, got {x!r}")
    if y not in Y_METRICS:
        raise ValueError(f"`y` must be one of {', '.join(Y_METRICS)}, got {y!r}")


def shown_metrics(*, x: str, y: str) -> dict[str, str]:
    """The two metrics of the main view with their directions: accuracy up, cost down."""
    check_axes(x=x, y=y)
    return {y: "maximize", x: "minimize"}


def default_axes(objectives: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(x, y) for a study: its own cost and accuracy objectives where the view offers them,
    else params and top-5."""
    names = [name for name, _ in objectives]
    x = next((n for n in names if n in X_METRICS), records.DEFAULT_COST)
    y = next((n for n in names if n in Y_METRICS), records.DEFAULT_ACCURACY)
    return x, y


def offered_axes(datas: Sequence[StudyData]) -> tuple[dict[str, str], dict[str, str]]:
    """(x, y) metrics -> labels the main view offers for the studies shown: the metrics some trial
    of theirs records (a stopped trial's on its curve) and their objectives (a study without
    trials yet), in the order of X_METRICS and Y_METRICS; every metric when no study is shown.
    A study never compressed offers no compressed size or accuracy, one never retrained no
    retrained accuracy. An axis left with none offers its default metric."""
    if not datas:
        return dict(X_METRICS), dict(Y_METRICS)
    recorded: set[str] = set()
    for data in datas:
        recorded.update(name for name, _ in data.objectives)
        recorded.update(
            name
            for name in (*X_METRICS, *Y_METRICS)
            if name in data.frame and data.frame[name].notna().any()
        )
        if len(data.frame):
            ends = data.last_epoch
            recorded.update(c for c in ends.columns if c in Y_METRICS and ends[c].notna().any())
    x = {n: label for n, label in X_METRICS.items() if n in recorded}
    y = {n: label for n, label in Y_METRICS.items() if n in recorded}
    cost, accuracy = records.DEFAULT_COST, records.DEFAULT_ACCURACY
    return x or {cost: X_METRICS[cost]}, y or {accuracy: Y_METRICS[accuracy]}


def combined_frame(datas: Sequence[StudyData]) -> pd.DataFrame:
    """The trials of several studies in one frame, with a `study` column."""
    parts = [d.frame.assign(study=d.name) for d in datas if len(d.frame)]
    if not parts:
        return analysis.empty_trials_frame().assign(study=pd.Series(dtype="string"))
    return pd.concat(parts, ignore_index=True)


# Metrics measured after training only by a search whose space asks for them, and what to say
# where a study has none.
SECTION_ONLY = {
    records.Source.COMPRESSED: "Compressed sizes and accuracies are measured only by a search "
    "whose space has a `compression` section.",
    records.Source.QUANTIZED: "int8 accuracies, file sizes and latencies are measured only by a "
    "search whose space has a `quantization` section.",
}


def section_only(*names: str) -> list[str]:
    """The metrics of `names` that only a space's section measures, each once."""
    return [n for n in dict.fromkeys(names) if metric(n).source in SECTION_ONLY]


def value_text(value) -> str:
    """A design value for people: `n/a` when missing, floats as written (0.125)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:g}" if isinstance(value, float) else str(value)


def value_texts(values: pd.Series, name: str | None = None) -> list[str]:
    """Each value of a column as people read it: a metric's values through the metric table."""
    raw = values.astype(object).where(values.notna(), None).tolist()
    write = metric(name).format if name is not None else value_text
    return [write(v) for v in raw]


def color_categories(values: pd.Series) -> list | None:
    """The sorted distinct values when the column reads as categories, else None."""
    distinct = pd.unique(values[pd.notna(values)])
    numeric = all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in distinct
    )
    if numeric and len(distinct) > MAX_CATEGORIES:
        return None
    return sorted(distinct, key=lambda v: (0, v, "") if numeric else (0, 0, str(v)))


def percent_format(values) -> str:
    """A tick format for fractions: whole percents, or tenths where the values span under 10%."""
    finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    return ".1%" if len(finite) and finite.max() - finite.min() < 0.1 else ".0%"


def empty_figure(message: str) -> go.Figure:
    """A blank figure that says `message` in its middle."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 15, "color": "#555"},
    )
    fig.update_layout(
        template="plotly_white",
        height=320,
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"l": 20, "r": 20, "t": 20, "b": 20},
    )
    return fig
