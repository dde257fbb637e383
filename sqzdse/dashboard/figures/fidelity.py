"""A fidelity study's views: how well the proxy ranks networks against the longer reference.

Three figures per measured plan, each a pure function of a `sqzdse.fidelity.FidelityReport`:
proxy top-1 against reference top-1 coloured by log10(params), each signal's Kendall tau with its
bootstrap 90% interval, and the tau after each proxy epoch beside the parameter count's.
`sqzdse.fidelity` is imported only when a fidelity study is drawn: it brings PyTorch with it, which
a dashboard of searches never needs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import plotly.graph_objects as go

if TYPE_CHECKING:
    from sqzdse.fidelity import FidelityReport

WITHIN_SIZE = "proxy within size (residuals on log10 params)"


def agreement_figure(report: FidelityReport) -> go.Figure:
    """Proxy top-1 (mean over seeds) against reference top-1, one point per network."""
    networks = report.networks
    figure = go.Figure(
        go.Scatter(
            x=[n.reference_top1 for n in networks],
            y=[n.proxy_top1 for n in networks],
            mode="markers",
            marker={
                "size": 10,
                "color": [math.log10(n.params) for n in networks],
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": "log10 params"}},
            },
            text=[f"network {n.index + 1}: {n.params:,} params, {n.macs:,} MACs" for n in networks],
            hovertemplate="%{text}<br>reference %{x:.2%}<br>proxy %{y:.2%}<extra></extra>",
            name="networks",
        )
    )
    figure.update_layout(
        title={"text": "Proxy against reference top-1"},
        xaxis_title={"text": "reference top-1"},
        yaxis_title={"text": "proxy top-1 (mean over seeds)"},
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
    )
    return figure


def tau_figure(report: FidelityReport) -> go.Figure:
    """Each signal's Kendall tau against the reference, with its bootstrap 90% interval, and the
    proxy's seed-to-seed tau as a dotted line (what the proxy agrees with itself)."""
    from sqzdse.fidelity import SIGNALS

    rows = [(label, report.signals[name]) for name, label in SIGNALS.items()]
    rows.append((WITHIN_SIZE, report.within_size))
    figure = go.Figure(
        go.Bar(
            x=[_plain(a.kendall_tau) for _, a in rows],
            y=[label for label, _ in rows],
            orientation="h",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [_gap(a.interval[1], a.kendall_tau) for _, a in rows],
                "arrayminus": [_gap(a.kendall_tau, a.interval[0]) for _, a in rows],
            },
            name="Kendall tau-b",
        )
    )
    if math.isfinite(report.seed_to_seed):
        figure.add_vline(
            x=report.seed_to_seed,
            line_dash="dot",
            annotation_text=f"proxy seed-to-seed {report.seed_to_seed:.2f}",
        )
    figure.update_layout(
        title={"text": "Kendall tau-b against the reference (bars: 90% bootstrap interval)"},
        xaxis_range=[-1, 1],
        yaxis_autorange="reversed",
        margin={"l": 340},
    )
    return figure


def epoch_figure(report: FidelityReport) -> go.Figure:
    """The proxy's tau after each of its epochs, and the parameter count's tau for comparison."""
    figure = go.Figure(
        go.Scatter(
            x=list(range(1, len(report.by_epoch) + 1)),
            y=[_plain(t) for t in report.by_epoch],
            mode="lines+markers",
            name="proxy top-1 after the epoch",
        )
    )
    params_tau = report.signals["params"].kendall_tau
    if math.isfinite(params_tau):
        figure.add_hline(y=params_tau, line_dash="dash", annotation_text=f"params {params_tau:.2f}")
    figure.update_layout(
        title={"text": "Tau after each proxy epoch"},
        xaxis_title={"text": "proxy epoch"},
        yaxis_title={"text": "Kendall tau-b"},
        xaxis_dtick=1,
        yaxis_range=[-1, 1],
    )
    return figure


def _plain(value: float) -> float | None:
    """A number Plotly draws: None (a gap) for NaN or infinity."""
    return value if math.isfinite(value) else None


def _gap(high: float, low: float) -> float:
    """The length of an error bar; 0 where either end is undefined."""
    return float(high - low) if math.isfinite(high) and math.isfinite(low) else 0.0
