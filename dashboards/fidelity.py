"""A stored fidelity study, drawn: how well the proxy ranks networks against the reference.

    sqzdse fidelity --space fashion.yaml        # measures; keeps every run in a study
    python dashboards/fidelity.py               # then open http://127.0.0.1:8052

Reads `studies/fidelity/<space>.db` when it is the only database there, or `--storage URL`
(`--study NAME` when the storage holds several fidelity studies). One section per plan measured in
the study (a plan: the networks, the proxy's and the reference's settings and seeds): the verdict
line, proxy top-1 against reference top-1 coloured by log10(params), each signal's Kendall tau with
its bootstrap 90% interval, and the tau after each proxy epoch beside the parameter count's. The
page re-reads the study every `--refresh` seconds, so a fidelity run under way fills it in. The
figure functions are pure: a report in, a Figure out.
"""

from __future__ import annotations

import argparse
import math

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from sqzdse.errors import SqzdseError, StorageError
from sqzdse.fidelity._report import SIGNALS, FidelityReport, build_report, format_report
from sqzdse.fidelity._store import finished_runs, is_fidelity_study, stored_plans
from sqzdse.storage import FIDELITY_DIR, load_study, open_storage, single_storage_in, study_names

DEFAULT_PORT = 8052


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
                "colorbar": {"title": "log10 params"},
            },
            text=[f"network {n.index + 1}: {n.params:,} params, {n.macs:,} MACs" for n in networks],
            hovertemplate="%{text}<br>reference %{x:.2%}<br>proxy %{y:.2%}<extra></extra>",
            name="networks",
        )
    )
    figure.update_layout(
        title="Proxy against reference top-1",
        xaxis_title="reference top-1",
        yaxis_title="proxy top-1 (mean over seeds)",
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
    )
    return figure


def tau_figure(report: FidelityReport) -> go.Figure:
    """Each signal's Kendall tau against the reference, with its bootstrap 90% interval."""
    rows = [(label, report.signals[name]) for name, label in SIGNALS.items()]
    rows.append(("proxy within size (residuals on log10 params)", report.within_size))
    taus = [_plain(a.kendall_tau) for _, a in rows]
    figure = go.Figure(
        go.Bar(
            x=taus,
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
        title="Kendall tau-b against the reference (bars: 90% bootstrap interval)",
        xaxis_range=[-1, 1],
        yaxis_autorange="reversed",
        margin={"l": 340},
    )
    return figure


def epoch_figure(report: FidelityReport) -> go.Figure:
    """The proxy's tau after each of its epochs, and the parameter count's tau for comparison."""
    epochs = list(range(1, len(report.by_epoch) + 1))
    figure = go.Figure(
        go.Scatter(
            x=epochs,
            y=[_plain(t) for t in report.by_epoch],
            mode="lines+markers",
            name="proxy top-1 after the epoch",
        )
    )
    params_tau = report.signals["params"].kendall_tau
    if math.isfinite(params_tau):
        figure.add_hline(y=params_tau, line_dash="dash", annotation_text=f"params {params_tau:.2f}")
    figure.update_layout(
        title="Tau after each proxy epoch",
        xaxis_title="proxy epoch",
        yaxis_title="Kendall tau-b",
        xaxis_dtick=1,
        yaxis_range=[-1, 1],
    )
    return figure


def _plain(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _gap(high: float, low: float) -> float:
    return float(high - low) if math.isfinite(high) and math.isfinite(low) else 0.0


def report_section(report: FidelityReport, index: int) -> html.Div:
    """One plan's section: its settings and verdict as text, then the three figures."""
    text = format_report(report).splitlines()
    settings, verdict = text[:3], text[-1]
    return html.Div(
        [
            html.H2(f"Plan {index + 1}: {len(report.networks)} networks measured"),
            html.Pre("\n".join(settings)),
            html.P(verdict, id=f"verdict-{index}", className="verdict"),
            dcc.Graph(id=f"agreement-{index}", figure=agreement_figure(report)),
            dcc.Graph(id=f"taus-{index}", figure=tau_figure(report)),
            dcc.Graph(id=f"epochs-{index}", figure=epoch_figure(report)),
        ]
    )


def reports(storage: str, study_name: str | None) -> list[FidelityReport]:
    """The report of every plan of the fidelity study, from the runs stored so far."""
    rdb = open_storage(storage, mode="read")
    names = [n for n in study_names(rdb) if study_name in (None, n)]
    studies = [s for s in (load_study(rdb, study_name=n) for n in names) if is_fidelity_study(s)]
    if len(studies) != 1:
        found = ", ".join(s.study_name for s in studies) or "none"
        raise StorageError(
            f"{storage} holds {len(studies)} fidelity studies ({found}) named "
            f"{study_name or 'anything'}; choose one with --study, or make one with "
            "`sqzdse fidelity --space SPACE`"
        )
    study = studies[0]
    runs = finished_runs(study)
    return [build_report(plan, runs) for plan in stored_plans(study)]


def page(storage: str, study_name: str | None) -> list:
    try:
        found = reports(storage, study_name)
    except SqzdseError as err:
        return [html.P(f"sqzdse fidelity page: {err}", id="fidelity-error")]
    if not found:
        return [html.P("The study holds no fidelity plan yet.", id="fidelity-error")]
    return [report_section(r, i) for i, r in enumerate(found)]


def build_app(
    storage: str, study_name: str | None = None, *, refresh_seconds: float = 10
) -> dash.Dash:
    """The Dash app: the page is re-read on load and every `refresh_seconds` (0: never)."""
    app = dash.Dash(__name__, title="sqzdse: proxy fidelity")
    app.layout = lambda: html.Div(
        [
            html.H1("Proxy fidelity"),
            html.P(
                "How well the proxy's accuracy orders networks the way the longer reference "
                "training does, beside the order the parameter count alone gives."
            ),
            dcc.Interval(
                id="refresh",
                interval=max(refresh_seconds, 1) * 1000,
                disabled=not refresh_seconds,
            ),
            html.Div(page(storage, study_name), id="reports"),
        ],
        style={"maxWidth": "1000px", "margin": "auto", "fontFamily": "sans-serif"},
    )

    @app.callback(
        Output("reports", "children"), Input("refresh", "n_intervals"), prevent_initial_call=True
    )
    def refresh(_):
        return page(storage, study_name)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", help="storage URL [default: the only studies/fidelity/*.db]")
    parser.add_argument("--study", help="fidelity study name [default: the only one]")
    parser.add_argument(
        "--refresh", type=float, default=10, help="seconds between re-reads (0: off)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    if not (math.isfinite(args.refresh) and args.refresh >= 0):
        parser.error(f"--refresh must be a finite number of seconds >= 0, got {args.refresh}")
    try:
        storage = args.storage or single_storage_in(
            FIDELITY_DIR, start="make one with `sqzdse fidelity --space SPACE`"
        )
        reports(storage, args.study)  # a bad storage or study stops here, with its message
    except SqzdseError as err:
        parser.exit(2, f"fidelity page: error: {err}\n")
    build_app(storage, args.study, refresh_seconds=args.refresh).run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
