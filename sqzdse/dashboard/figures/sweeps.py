"""The SqueezeNet paper's sweeps, redrawn from studies of the `paper_*` search spaces.

Per sweep, two panels over the swept value: the proxy accuracy of this project's studies (top-1 and
top-5, each trial and the mean), with the paper's ImageNet top-5 figures as reference marks; and the
cost, exact and analytic, of the same design at the paper's scale (v1.0 stem, 1000 classes,
224x224): model size at 32 bits for SR, pct_3x3 and bypass, multiply-accumulates for pooling, which
leaves the parameters unchanged. Sizes are in units of 2^20 bytes, the paper's "MB" (v1.0: 1,248,424
x 4 bytes = 4.76 x 2^20, the paper's 4.8 MB). The figure functions are pure: a trials DataFrame in,
a Figure out (see `sqzdse.analysis.load_trials`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sqzdse.analysis import effect_summary
from sqzdse.arch import ArchConfig, count_macs, count_params
from sqzdse.errors import ArchError
from sqzdse.records import Role, metrics_of

MIB = 2**20
PAPER_SCALE = {"num_classes": 1000, "resolution": 224}  # with ArchConfig's v1.0 stem
BYPASS_ORDER = ("none", "simple", "complex")


@dataclass(frozen=True)
class Sweep:
    """One of the paper's experiments and how to draw it."""

    study: str  # study name and default file studies/<study>.db
    x: str  # the swept column of the trials DataFrame
    title: str
    x_title: str
    cost: str  # "size" (MiB at 32 bits) or "macs" (G multiply-accumulates)
    paper_top5: tuple = ()  # (x, top-5 %) quoted from the paper, ImageNet
    paper_cost: tuple = ()  # (x, MB or G MACs) quoted from the paper
    categorical: bool = False


SWEEPS: dict[str, Sweep] = {
    s.study: s
    for s in (
        Sweep(
            "paper_sr",
            "sr",
            "Squeeze ratio (paper figure 3a)",
            "squeeze ratio SR",
            "size",
            paper_top5=((0.125, 80.3), (0.75, 86.0), (1.0, 86.0)),
            paper_cost=((0.125, 4.8), (0.75, 19.0)),
        ),
        Sweep(
            "paper_pct",
            "pct_3x3",
            "Share of 3x3 filters (paper figure 3b)",
            "pct_3x3",
            "size",
            paper_top5=((0.01, 76.0), (0.5, 85.6), (0.99, 85.6)),
        ),
        Sweep(
            "paper_bypass",
            "bypass",
            "Bypass connections (paper table 3)",
            "bypass",
            "size",
            paper_top5=(("none", 80.3), ("simple", 82.5), ("complex", 82.0)),
            paper_cost=(("none", 4.8), ("simple", 4.8), ("complex", 7.7)),
            categorical=True,
        ),
        Sweep(
            "paper_pooling",
            "pool_after",
            'Pooling positions (the paper\'s "downsample late")',
            "max-pools after (later to the right)",
            "macs",
            categorical=True,
        ),
    )
}


def paper_scale(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with `paper_params`, `paper_size_mib` and `paper_gmacs`: each trial's design (its five
    metaparameters, module count, pools and bypass) counted exactly on the v1.0 stem at 1000 classes
    and 224x224, the setting of the paper's numbers. NaN where the design is unknown or invalid."""
    params, gmacs = [], []
    for row in df.itertuples(index=False):
        cfg = _paper_config(row)
        params.append(count_params(cfg) if cfg else float("nan"))
        gmacs.append(count_macs(cfg) / 1e9 if cfg else float("nan"))
    out = df.copy()
    out["paper_params"] = pd.array(params, dtype="float64")
    out["paper_size_mib"] = out["paper_params"] * 4 / MIB
    out["paper_gmacs"] = gmacs
    return out


def _paper_config(row) -> ArchConfig | None:
    if pd.isna(row.bypass):
        return None
    try:
        return ArchConfig(
            base_e=int(row.base_e),
            incr_e=int(row.incr_e),
            pct_3x3=float(row.pct_3x3),
            freq=int(row.freq),
            sr=float(row.sr),
            num_modules=int(row.num_modules),
            pool_after=tuple(n for n in row.pool_after.split(",") if n),
            bypass=row.bypass,
            **PAPER_SCALE,
        )
    except ArchError:
        return None


def pool_lateness(pool_after: str) -> tuple[int, str]:
    """Sort key for pooling layouts: later pools (a larger sum of layer positions) sort later."""
    names = [n for n in pool_after.split(",") if n]
    return sum(0 if n == "conv1" else int(n[4:]) - 1 for n in names), pool_after


def x_order(values, sweep: Sweep) -> list:
    """The swept values in drawing order."""
    values = list(dict.fromkeys(values))
    if sweep.x == "bypass":
        return [v for v in BYPASS_ORDER if v in values]
    if sweep.x == "pool_after":
        return sorted(values, key=pool_lateness)
    return sorted(values)


def sweep_figure(df: pd.DataFrame, sweep: Sweep | str) -> go.Figure:
    """The two panels of one sweep from a trials DataFrame (see `sqzdse.analysis.load_trials`)."""
    sweep = SWEEPS[sweep] if isinstance(sweep, str) else sweep
    complete = df.loc[(df["state"] == "COMPLETE").fillna(False).astype(bool)]
    if complete.empty:
        fig = go.Figure(
            layout={
                "title": sweep.title,
                "height": 220,
                "xaxis": {"visible": False},
                "yaxis": {"visible": False},
            }
        )
        fig.add_annotation(
            text=f"no completed trials in study {sweep.study} yet",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
        return fig
    cost_title = (
        "model size at ImageNet scale, 32-bit (2^20 bytes)"
        if sweep.cost == "size"
        else "G multiply-accumulates at 224x224, 1000 classes"
    )
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=("proxy accuracy (%) vs the paper's ImageNet top-5", cost_title),
    )
    fig.update_layout(title=sweep.title, height=620, legend={"orientation": "h", "y": -0.12})
    complete = paper_scale(complete)
    if sweep.categorical:
        complete[sweep.x] = complete[sweep.x].astype(str)
    order = x_order(complete[sweep.x].dropna(), sweep)

    for metric, colour in zip(metrics_of(role=Role.ACCURACY), ("#1f77b4", "#ff7f0e")):
        means = _means(complete, metric, sweep, order)
        if means.empty:
            continue
        trials = complete.dropna(subset=[metric])
        fig.add_trace(
            go.Scatter(
                x=trials[sweep.x],
                y=trials[metric] * 100,
                mode="markers",
                name=f"proxy {metric} (trials)",
                legendgroup=metric,
                marker={"color": colour, "size": 6, "opacity": 0.35},
                customdata=trials["number"],
                hovertemplate="trial %{customdata}: %{y:.2f}%<extra></extra>",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=means.index,
                y=means * 100,
                mode="lines+markers",
                name=f"proxy {metric} (mean)",
                legendgroup=metric,
                line={"color": colour},
            ),
            row=1,
            col=1,
        )
    if sweep.paper_top5:
        xs, ys = zip(*sweep.paper_top5)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name="paper top-5 (ImageNet)",
                line={"color": "black", "dash": "dot"},
                marker={"symbol": "diamond-open", "size": 10},
            ),
            row=1,
            col=1,
        )

    cost_column = "paper_size_mib" if sweep.cost == "size" else "paper_gmacs"
    cost = complete.groupby(sweep.x)[cost_column].mean().reindex(order)
    fig.add_trace(
        go.Scatter(
            x=cost.index,
            y=cost,
            mode="lines+markers",
            name="this design at ImageNet scale (exact)",
            line={"color": "#2ca02c"},
        ),
        row=2,
        col=1,
    )
    if sweep.paper_cost:
        xs, ys = zip(*sweep.paper_cost)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name="paper size",
                marker={"symbol": "diamond-open", "size": 10, "color": "black"},
            ),
            row=2,
            col=1,
        )
    fig.update_xaxes(title_text=sweep.x_title, row=2, col=1)
    if sweep.categorical:
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=order)
    return fig


def _means(complete: pd.DataFrame, metric: str, sweep: Sweep, order: list) -> pd.Series:
    summary = effect_summary(complete, metric, by=[sweep.x])
    present = set(summary["value"])
    return summary.set_index("value")["mean"].reindex([v for v in order if v in present])
