"""The page: component ids, the layout, and the small renderers that turn info into components.

No data access and no callbacks here; `callbacks.py` wires these components to `figures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html
from dash.dash_table.DataTable import DataTable
from dash.dash_table.Format import Format, Group, Scheme, Trim

from sqzdse.dashboard import figures
from sqzdse.dashboard.details import (
    CompressedLayer,
    CompressionDetail,
    RetrainedDetail,
    RungDecision,
    TrialDetail,
    status_line,
)
from sqzdse.records import FIDELITY_KIND


class ids:  # noqa: N801 - a namespace of component ids
    STUDIES = "study-picker"
    X = "x-metric"
    Y = "y-metric"
    COLOR = "color-by"
    INTERVAL = "refresh-interval"
    VERSIONS = "study-versions"
    SELECTED = "selected-trial"
    LIVE = "live-status"
    EMPTY = "empty-state"
    PARETO = "pareto-graph"
    SUMMARY = "pareto-summary"
    DETAIL = "trial-detail"
    LAYERS = "layer-table"
    CURVE = "curve-graph"
    RUNGS = "rung-table"
    COMPRESSION = "compression-report"
    COMPRESSION_LAYERS = "compression-layer-table"
    RETRAINED = "retrained-report"
    COMMAND = "train-command"
    HYPERVOLUME = "hypervolume-graph"
    PARALLEL = "parallel-graph"
    TABLE = "trial-table"


FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
CARD = {
    "background": "white",
    "border": "1px solid #e3e3e3",
    "borderRadius": "6px",
    "padding": "12px",
    "boxSizing": "border-box",
}
LABEL = {"fontSize": "12px", "color": "#555", "marginBottom": "2px", "display": "block"}
HIDDEN = {"display": "none"}
# A page's first line: its title, the storage, the links to the other pages.
HEADER = {
    "display": "flex",
    "alignItems": "baseline",
    "gap": "16px",
    "marginBottom": "8px",
    "flexWrap": "wrap",
}
EMPTY_STYLE = {
    "background": "#fff8e1",
    "border": "1px solid #f0c36d",
    "borderRadius": "6px",
    "padding": "12px 16px",
    "margin": "0 0 12px 0",
    "fontSize": "15px",
}


def build_layout(
    *,
    storage: str,
    studies: Sequence[str],
    selected: Sequence[str],
    x: str,
    y: str,
    color: str = "bypass",
    refresh_ms: int = 5000,
    kinds: Mapping[str, str] | None = None,
    nav=None,
) -> html.Div:
    """The whole page. `refresh_ms` 0 turns live refresh off; `kinds` (name -> kind) marks the
    fidelity studies among `studies`; `nav` (the links to the other pages) goes in the header."""
    return html.Div(
        style={
            "fontFamily": FONT,
            "background": "#f6f7f9",
            "padding": "12px 18px",
            "minHeight": "100vh",
            "boxSizing": "border-box",
        },
        children=[
            _header(storage, refresh_ms, nav),
            _controls(study_options(studies, kinds), selected, x, y, color),
            html.Div(id=ids.EMPTY, style=HIDDEN),
            html.Div(
                style={"display": "flex", "gap": "12px", "alignItems": "stretch"},
                children=[
                    html.Div(
                        style={**CARD, "flex": "3 1 0", "minWidth": 0},
                        children=[
                            dcc.Graph(
                                id=ids.PARETO,
                                figure=figures.empty_figure("Loading ..."),
                                config={"displaylogo": False},
                            ),
                            html.Ul(
                                id=ids.SUMMARY,
                                style={
                                    "fontSize": "13px",
                                    "color": "#333",
                                    "margin": "4px 0 0 0",
                                    "paddingLeft": "18px",
                                },
                            ),
                        ],
                    ),
                    html.Div(
                        id=ids.DETAIL,
                        style={
                            **CARD,
                            "flex": "2 1 0",
                            "minWidth": 0,
                            "maxHeight": "900px",
                            "overflowY": "auto",
                        },
                        children=detail_placeholder(),
                    ),
                ],
            ),
            html.Div(
                style={"display": "flex", "gap": "12px", "marginTop": "12px"},
                children=[
                    html.Div(
                        style={**CARD, "flex": "2 1 0", "minWidth": 0},
                        children=dcc.Graph(id=ids.HYPERVOLUME, config={"displaylogo": False}),
                    ),
                    html.Div(
                        style={**CARD, "flex": "3 1 0", "minWidth": 0},
                        children=dcc.Graph(id=ids.PARALLEL, config={"displaylogo": False}),
                    ),
                ],
            ),
            html.Div(
                style={**CARD, "marginTop": "12px"},
                children=[
                    html.H3("Trials", style={"margin": "0 0 4px 0", "fontSize": "16px"}),
                    html.Div(
                        "Every trial, failed and pruned ones included. Click a header to sort; "
                        "type in the row under it to filter (e.g. >0.9, bypass: simple). Click a "
                        "row to see the trial.",
                        style={"fontSize": "12px", "color": "#555", "marginBottom": "6px"},
                    ),
                    trial_table(),
                ],
            ),
            dcc.Store(id=ids.VERSIONS, data=None),
            dcc.Store(id=ids.SELECTED, data=None),
            dcc.Interval(id=ids.INTERVAL, interval=max(refresh_ms, 1000), disabled=refresh_ms <= 0),
        ],
    )


def _header(storage: str, refresh_ms: int, nav=None) -> html.Div:
    live = (
        f"live: refreshes every {refresh_ms / 1000:g} s" if refresh_ms > 0 else "live refresh off"
    )
    return html.Div(
        style=HEADER,
        children=[
            html.H2("sqzdse dashboard", style={"margin": 0, "fontSize": "22px"}),
            html.Code(storage, style={"fontSize": "13px", "color": "#333"}),
            html.Span(live + " · read-only", style={"fontSize": "12px", "color": "#777"}),
            html.Span(id=ids.LIVE, style={"fontSize": "12px", "color": "#777"}),
            *([] if nav is None else [nav]),
        ],
    )


def _options(choices: dict[str, str]) -> list[dict]:
    return [{"label": label, "value": value} for value, label in choices.items()]


FIDELITY_LABEL = "{name} (fidelity study: opens its page)"


def study_options(names: Sequence[str], kinds: Mapping[str, str] | None = None) -> list[dict]:
    """Options of the study picker; a fidelity study (of `kinds`, name -> kind) says that picking
    it opens its own page."""
    kinds = kinds or {}
    return [
        {
            "label": FIDELITY_LABEL.format(name=name) if kinds.get(name) == FIDELITY_KIND else name,
            "value": name,
        }
        for name in names
    ]


def axis_options(metrics: Mapping[str, str]) -> list[dict]:
    """Options of an axis control: metric -> label."""
    return _options(dict(metrics))


def _controls(options, selected, x, y, color) -> html.Div:
    def field(label, component, width):
        return html.Div(
            [html.Label(label, style=LABEL), component], style={"width": width, "minWidth": "160px"}
        )

    return html.Div(
        style={
            **CARD,
            "display": "flex",
            "gap": "16px",
            "marginBottom": "12px",
            "flexWrap": "wrap",
            "alignItems": "flex-end",
        },
        children=[
            field(
                "Studies (pick several to compare)",
                dcc.Dropdown(
                    id=ids.STUDIES,
                    options=options,
                    value=list(selected),
                    multi=True,
                    placeholder="no study in this storage yet",
                ),
                "360px",
            ),
            field(
                "Accuracy (y)",
                dcc.RadioItems(
                    id=ids.Y,
                    options=_options(figures.Y_METRICS),
                    value=y,
                    inline=True,
                    inputStyle={"marginRight": "4px"},
                    labelStyle={"marginRight": "12px"},
                ),
                # Six accuracies (proxy, after compression, retrained): a few lines, not six.
                "520px",
            ),
            field(
                "Cost (x, log scale)",
                dcc.Dropdown(
                    id=ids.X, options=_options(figures.X_METRICS), value=x, clearable=False
                ),
                "260px",
            ),
            field(
                "Colour by",
                dcc.Dropdown(
                    id=ids.COLOR,
                    options=_options(figures.COLOR_COLUMNS),
                    value=color,
                    clearable=False,
                ),
                "200px",
            ),
        ],
    )


def empty_state(message: str | None) -> tuple[list, dict]:
    """(children, style) of the empty-state banner; hidden when `message` is None."""
    if message is None:
        return [], HIDDEN
    return [html.Strong("Nothing to plot yet. "), html.Span(message)], EMPTY_STYLE


def summary(lines: Sequence[str]) -> list:
    """The sentences under the main view, as list items."""
    return [html.Li(line) for line in lines]


def detail_placeholder() -> list:
    return [
        html.H3("Trial", style={"margin": "0 0 6px 0", "fontSize": "16px"}),
        html.P(
            "Click a point of the graph, or a row of the trial table, to see its layers, "
            "learning curve, metrics and the command that rebuilds it.",
            style={"color": "#555", "fontSize": "14px"},
        ),
    ]


def detail_panel(
    detail: TrialDetail | None,
    curve_figure=None,
    rungs: Sequence[RungDecision] = (),
    compression: CompressionDetail | None = None,
    retrained: RetrainedDetail | None = None,
) -> list:
    """The detail panel of one trial; the placeholder when `detail` is None. `rungs`,
    `compression` and `retrained` are shown when the trial has them (successive halving, Deep
    Compression, `sqzdse retrain`)."""
    if detail is None:
        return detail_placeholder()
    children = [
        html.H3(
            f"{detail.study} · trial #{detail.number}",
            style={"margin": "0 0 4px 0", "fontSize": "16px"},
        ),
        html.P(status_line(detail), style={"fontSize": "13px", "margin": "0 0 8px 0"}),
    ]
    if detail.metrics:
        children.append(_pairs_table(detail.metrics))
    if detail.command:
        children += [
            html.Div(
                [
                    html.Span("Rebuild it:", style=LABEL),
                    dcc.Clipboard(
                        target_id=ids.COMMAND,
                        title="copy",
                        style={"display": "inline-block", "marginLeft": "6px"},
                    ),
                ]
            ),
            html.Pre(
                detail.command,
                id=ids.COMMAND,
                style={
                    "whiteSpace": "pre-wrap",
                    "wordBreak": "break-word",
                    "background": "#f3f3f3",
                    "padding": "8px",
                    "fontSize": "12px",
                    "margin": "0 0 4px 0",
                },
            ),
            *(
                html.P(note, style={"fontSize": "12px", "color": "#8a6d3b", "margin": "2px 0"})
                for note in detail.command_notes
            ),
        ]
    if curve_figure is not None:
        children.append(dcc.Graph(id=ids.CURVE, figure=curve_figure, config={"displaylogo": False}))
    if rungs:
        children += [
            html.Span("Rungs of successive halving", style=LABEL),
            rung_table(rungs),
        ]
    if retrained is not None:
        children.append(retrained_section(retrained))
    if compression is not None:
        children.append(compression_section(compression))
    if detail.arch_error:
        children.append(html.P(f"No layer table: {detail.arch_error}.", style={"color": "#a33"}))
    else:
        children += [
            html.Span("Layers (exact analytic counts, BatchNorm folded)", style=LABEL),
            layer_table(detail.layers),
        ]
    return children


def _pairs_table(pairs: Sequence[tuple[str, str]]) -> html.Table:
    """(label, value) rows: labels in grey, values right-aligned."""
    return html.Table(
        [
            html.Tr(
                [
                    html.Td(label, style={"color": "#555", "paddingRight": "12px"}),
                    html.Td(
                        value,
                        style={"textAlign": "right", "fontVariantNumeric": "tabular-nums"},
                    ),
                ]
            )
            for label, value in pairs
        ],
        style={"fontSize": "13px", "borderCollapse": "collapse", "marginBottom": "8px"},
    )


def retrained_section(retrained: RetrainedDetail) -> html.Div:
    """The trial's retraining: validation top-1 (the split the search selects on) and test top-1,
    the mean and each seed's."""
    return html.Div(
        [
            html.Span("Retrained (sqzdse retrain): validation and test split", style=LABEL),
            html.P(retrained.settings, style={"fontSize": "13px", "margin": "0 0 4px 0"}),
            _pairs_table(retrained.rows),
        ],
        id=ids.RETRAINED,
    )


def compression_section(compression: CompressionDetail) -> html.Div:
    """The trial's Deep Compression: its settings, the file's bytes against 32-bit weights, the
    accuracy before and after, and the bytes of each convolution."""
    children = [
        html.Span("Deep Compression (pruned, shared weights, Huffman-coded)", style=LABEL),
        html.P(compression.settings, style={"fontSize": "13px", "margin": "0 0 4px 0"}),
        _pairs_table(compression.totals),
    ]
    if compression.layers:
        children.append(
            html.Div(compression_table(compression.layers), style={"overflowX": "auto"})
        )
    return html.Div(children, id=ids.COMPRESSION)


# (header, CompressedLayer field) of the per-layer compression table, in column order.
COMPRESSION_COLUMNS = (
    ("layer", "name"),
    ("weights", "weights"),
    ("nonzero", "nonzero"),
    ("density", "density"),
    ("bits", "bits"),
    ("gap bits", "gap_bits"),
    ("fillers", "fillers"),
    ("estimate B", "estimate_bytes"),
    ("file B", "file_bytes"),
)


def compression_table(layers: Sequence[CompressedLayer]) -> html.Table:
    """One row per compressed convolution, as `rung_table` draws its rows, and the total."""
    cell = {"padding": "1px 8px 1px 0", "textAlign": "right", "fontVariantNumeric": "tabular-nums"}
    first = {**cell, "textAlign": "left"}
    total = {"fontWeight": "600", "borderTop": "2px solid #999"}
    return html.Table(
        [
            html.Tr(
                [
                    html.Th(h, style={**(first if i == 0 else cell), "color": "#555"})
                    for i, (h, _) in enumerate(COMPRESSION_COLUMNS)
                ]
            ),
            *(
                html.Tr(
                    [
                        html.Td(
                            getattr(layer, name),
                            style={
                                **(first if i == 0 else cell),
                                **(total if layer.name == "total" else {}),
                            },
                        )
                        for i, (_, name) in enumerate(COMPRESSION_COLUMNS)
                    ]
                )
                for layer in layers
            ),
        ],
        id=ids.COMPRESSION_LAYERS,
        style={"fontSize": "12px", "borderCollapse": "collapse", "marginBottom": "8px"},
    )


def rung_table(rungs: Sequence[RungDecision]) -> html.Table:
    """One row per rung the trial reached: its values there, its rank and the decision."""
    cell = {"padding": "1px 8px 1px 0", "textAlign": "left"}
    header = ("epoch", "values at that epoch", "ranked", "kept", "decision")
    return html.Table(
        [
            html.Tr([html.Th(h, style={**cell, "color": "#555"}) for h in header]),
            *(
                html.Tr(
                    [
                        html.Td(str(r.epoch), style=cell),
                        html.Td(r.values, style=cell),
                        html.Td(r.ranked, style=cell),
                        html.Td(f"top {r.kept}", style=cell),
                        html.Td("went on" if r.continues else "stopped", style=cell),
                    ]
                )
                for r in rungs
            ),
        ],
        id=ids.RUNGS,
        style={"fontSize": "12px", "borderCollapse": "collapse", "marginBottom": "8px"},
    )


def layer_table(layers: Sequence[dict]) -> DataTable:
    """The layer table of `sqzdse count`: one row per layer and a total."""
    rows: list[dict[str | float | int, Any]] = [
        {
            "layer": r["name"],
            "output": "x".join(map(str, r["output_shape"])),
            "filters": r["filters"],
            "params": r["params"],
            "macs": r["macs"],
            "bypass": r["bypass"],
        }
        for r in layers
    ]
    rows.append(
        {
            "layer": "total",
            "output": "",
            "filters": "",
            "params": sum(r["params"] for r in layers),
            "macs": sum(r["macs"] for r in layers),
            "bypass": "",
        }
    )
    number = Format().group(Group.yes)
    return DataTable(
        id=ids.LAYERS,
        data=rows,
        columns=[
            {"name": "layer", "id": "layer"},
            {"name": "output", "id": "output"},
            {"name": "filters (s/e1/e3)", "id": "filters"},
            {"name": "params", "id": "params", "type": "numeric", "format": number},
            {"name": "MACs", "id": "macs", "type": "numeric", "format": number},
            {"name": "bypass", "id": "bypass"},
        ],
        style_cell={"fontSize": "12px", "padding": "2px 6px", "fontFamily": FONT},
        style_header={"fontWeight": "600", "background": "#f3f3f3"},
        style_data_conditional=[
            {
                "if": {"filter_query": '{layer} = "total"'},
                "fontWeight": "600",
                "borderTop": "2px solid #999",
            }
        ],
        style_cell_conditional=[
            {"if": {"column_id": c}, "textAlign": "left"}
            for c in ("layer", "output", "filters", "bypass")
        ],
    )


def _column(column: str, header: str, kind: str) -> Any:  # Dash's `Columns` dict
    spec: dict[str, Any] = {"name": header, "id": column}
    if kind == "number":
        spec.update(type="numeric")
    elif kind == "int":
        spec.update(type="numeric", format=Format().group(Group.yes))
    elif kind == "accuracy":
        spec.update(type="numeric", format=Format(precision=2, scheme=Scheme.percentage))
    elif kind == "float":
        spec.update(
            type="numeric",
            format=Format(precision=4, scheme=Scheme.decimal_or_exponent, trim=Trim.yes),
        )
    else:
        spec.update(type="text")
    return spec


def trial_table() -> DataTable:
    """The trial table, sortable and filterable in the browser; rows come from a callback."""
    return DataTable(
        id=ids.TABLE,
        data=[],
        columns=[_column(*c) for c in figures.TABLE_COLUMNS],
        sort_action="native",
        filter_action="native",
        page_action="native",
        page_size=15,
        sort_by=[{"column_id": "number", "direction": "desc"}],
        style_table={"overflowX": "auto"},
        style_cell={
            "fontSize": "12px",
            "padding": "3px 6px",
            "fontFamily": FONT,
            "maxWidth": "260px",
            "overflow": "hidden",
            "textOverflow": "ellipsis",
        },
        style_header={"fontWeight": "600", "background": "#f3f3f3"},
        style_data_conditional=[
            {"if": {"filter_query": '{front} = "yes"'}, "background": "#eef6ee"},
            {"if": {"filter_query": '{state} = "FAIL"'}, "color": "#a33"},
            {"if": {"filter_query": '{state} = "PRUNED"'}, "color": "#8a6d3b"},
        ],
    )
