"""The parallel-coordinates view: the design choices of one study's trials against its metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sqzdse import analysis
from sqzdse.dashboard.figures._common import empty_figure, shown_metrics
from sqzdse.dashboard.study_data import StudyData


@dataclass(frozen=True, eq=False)
class ParallelInfo:
    """Parallel coordinates of one study's ranked trials: one axis per design choice that varies,
    then the two metrics; `rank` is the non-dominated rank of each line (0 on the front)."""

    study: str | None
    dimensions: list[dict]
    rank: np.ndarray


def parallel_info(data: StudyData | None, *, x: str, y: str) -> ParallelInfo:
    """Axes and ranks for `parallel_figure`; trials without both metrics are left out."""
    metrics = shown_metrics(x=x, y=y)
    if data is None or not len(data.frame):
        return ParallelInfo(
            study=None if data is None else data.name,
            dimensions=[],
            rank=np.array([], dtype=np.int64),
        )
    rank = analysis.pareto_rank(data.frame, metrics)
    keep = rank.notna().to_numpy()
    rows = data.frame.loc[keep]
    dims = []
    for column in analysis.DESIGN_COLUMNS:
        values = rows[column]
        if values.nunique(dropna=True) < 2:
            continue
        if pd.api.types.is_numeric_dtype(values):
            dims.append({"label": column, "values": values.astype(float).to_numpy()})
        else:
            categories = sorted(values.dropna().unique())
            codes = {c: i for i, c in enumerate(categories)}
            dims.append(
                {
                    "label": column,
                    "tickvals": list(range(len(categories))),
                    "ticktext": [c or "none" for c in categories],
                    "values": values.map(codes).astype(float).to_numpy(),
                }
            )
    for name in (x, y):
        dims.append({"label": name, "values": rows[name].astype(float).to_numpy()})
    return ParallelInfo(
        study=data.name, dimensions=dims, rank=rank.loc[keep].to_numpy(dtype=np.int64)
    )


def parallel_figure(info: ParallelInfo) -> go.Figure:
    """Parallel coordinates coloured by Pareto rank (bright = on or near the front)."""
    if not len(info.rank):
        return empty_figure("Parallel coordinates appear once a trial has finished.")
    fig = go.Figure(
        go.Parcoords(
            dimensions=info.dimensions,
            line={
                "color": info.rank,
                "colorscale": "Viridis",
                "reversescale": True,
                "showscale": True,
                "cmin": 0,
                "cmax": max(int(info.rank.max()), 1),
                "colorbar": {"title": {"text": "Pareto rank<br>(0 = front)"}},
            },
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=380,
        margin={"l": 60, "r": 40, "t": 70, "b": 30},
        title={
            "text": f"Design choices of {info.study}, coloured by Pareto rank",
            "font": {"size": 14},
        },
    )
    return fig
