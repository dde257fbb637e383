"""Callbacks: module-level functions that convert their inputs, call pure functions from `figures` /
`details`, and return. Each takes the StudySource first; `register` binds it and wires each function
to the page of `layout.build_layout`, so every callback can be called in a test as a plain function.

Live refresh: every tick, `refresh` asks the source for each selected study's version (a digest of
its trials' numbers, states and completion times); only when a version changed does the store
change, and only then do the views redraw. The page itself never reloads.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping

from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from sqzdse.dashboard import details, figures, layout
from sqzdse.dashboard.layout import ids
from sqzdse.dashboard.source import StudySource
from sqzdse.dashboard.study_data import StudyData
from sqzdse.errors import SqzdseError


def clicked_trial(click: Mapping | None) -> dict | None:
    """{"study", "number"} of the point clicked in the main view (customdata [study, number])."""
    try:
        study, number = click["points"][0]["customdata"][:2]
        return {"study": str(study), "number": int(number)}
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def selected_row(cell: Mapping | None) -> dict | None:
    """{"study", "number"} of the trial table row whose cell was clicked."""
    parsed = figures.parse_row_id(cell.get("row_id")) if isinstance(cell, Mapping) else None
    return None if parsed is None else {"study": parsed[0], "number": parsed[1]}


def load(source: StudySource, versions: Mapping | None) -> list[StudyData]:
    """The studies named in the versions store; nothing changes on the page when one can't be read
    (the live status line says why)."""
    try:
        return [source.load(name) for name in (versions or {})]
    except SqzdseError:
        raise PreventUpdate from None


def refresh(source: StudySource, _tick, selected, known, options):
    """(versions store, study picker options, live status) on every tick or study choice."""
    try:
        names = source.study_names()
        versions = {name: source.version(name) for name in selected or [] if name in names}
    except SqzdseError as err:
        return no_update, no_update, f"· {err} (showing what was read before)"
    new_options = layout.study_options(names)
    return (
        versions if versions != known else no_update,
        new_options if new_options != options else no_update,
        f"· read at {time.strftime('%H:%M:%S')}",
    )


def main_view(source: StudySource, versions, x, y, color):
    """The Pareto figure, the sentences under it, and the empty-state banner."""
    info = figures.pareto_info(load(source, versions), x=x, y=y, color=color)
    banner, style = layout.empty_state(figures.empty_message(info) if info.is_empty else None)
    return figures.pareto_figure(info), layout.summary(figures.summary_lines(info)), banner, style


def hypervolume(source: StudySource, versions, x, y):
    return figures.hypervolume_figure(figures.hypervolume_info(load(source, versions), x=x, y=y))


def parallel(source: StudySource, versions, x, y):
    datas = load(source, versions)
    return figures.parallel_figure(figures.parallel_info(datas[0] if datas else None, x=x, y=y))


def table(source: StudySource, versions, x, y):
    return figures.trial_table_rows(load(source, versions), x=x, y=y)


def select(click, cell, *, triggered: str | None = None):
    """The trial chosen by a click on the graph or on a table row."""
    triggered = ctx.triggered_id if triggered is None else triggered
    chosen = clicked_trial(click) if triggered == ids.PARETO else selected_row(cell)
    if chosen is None:
        raise PreventUpdate
    return chosen


def detail(source: StudySource, selected, _versions):
    """The detail panel of the selected trial, redrawn when its study changes."""
    if not selected:
        raise PreventUpdate
    try:
        data = source.load(selected["study"])
    except SqzdseError:
        raise PreventUpdate from None
    trial = details.trial_detail(data, selected["number"])
    if trial is None:
        return layout.detail_panel(None)
    curve = figures.curve_figure(trial.curve, title="learning curve")
    return layout.detail_panel(
        trial,
        curve,
        details.rung_decisions(data, trial.number),
        details.trial_compression(data, trial.number),
        details.trial_retrained(data, trial.number),
    )


# In the browser: bring the detail panel into view (a table row is far below it).
SCROLL_TO_DETAIL = """function(selected) {
    const panel = document.getElementById("DETAIL");
    if (selected && panel) { panel.scrollIntoView({behavior: "smooth", block: "nearest"}); }
    return window.dash_clientside.no_update;
}""".replace("DETAIL", ids.DETAIL)


def register(app, source: StudySource) -> None:
    """Wire the page of `layout.build_layout` to the studies of `source`."""

    def bound(func):
        return functools.update_wrapper(functools.partial(func, source), func)

    axes = (Input(ids.X, "value"), Input(ids.Y, "value"))
    app.callback(
        Output(ids.VERSIONS, "data"),
        Output(ids.STUDIES, "options"),
        Output(ids.LIVE, "children"),
        Input(ids.INTERVAL, "n_intervals"),
        Input(ids.STUDIES, "value"),
        State(ids.VERSIONS, "data"),
        State(ids.STUDIES, "options"),
    )(bound(refresh))
    app.callback(
        Output(ids.PARETO, "figure"),
        Output(ids.SUMMARY, "children"),
        Output(ids.EMPTY, "children"),
        Output(ids.EMPTY, "style"),
        Input(ids.VERSIONS, "data"),
        *axes,
        Input(ids.COLOR, "value"),
        prevent_initial_call=True,
    )(bound(main_view))
    app.callback(
        Output(ids.HYPERVOLUME, "figure"),
        Input(ids.VERSIONS, "data"),
        *axes,
        prevent_initial_call=True,
    )(bound(hypervolume))
    app.callback(
        Output(ids.PARALLEL, "figure"),
        Input(ids.VERSIONS, "data"),
        *axes,
        prevent_initial_call=True,
    )(bound(parallel))
    app.callback(
        Output(ids.TABLE, "data"), Input(ids.VERSIONS, "data"), *axes, prevent_initial_call=True
    )(bound(table))
    app.callback(
        Output(ids.SELECTED, "data"),
        Input(ids.PARETO, "clickData"),
        Input(ids.TABLE, "active_cell"),
        prevent_initial_call=True,
    )(select)
    app.clientside_callback(
        SCROLL_TO_DETAIL,
        Output(ids.DETAIL, "className"),
        Input(ids.SELECTED, "data"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(ids.DETAIL, "children"),
        Input(ids.SELECTED, "data"),
        Input(ids.VERSIONS, "data"),
        prevent_initial_call=True,
    )(bound(detail))
