"""Callbacks: each converts its inputs, calls pure functions from `figures` / `details`, returns.

Live refresh: every tick, `refresh` asks the source for each selected study's version (a digest of
its trials' numbers, states and completion times); only when a version changed does the store
change, and only then do the views redraw. The page itself never reloads.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from dash import Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from sqzdse.dashboard import details, figures, layout
from sqzdse.dashboard.layout import ids
from sqzdse.dashboard.source import StudySource
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


def register(app, source: StudySource) -> None:
    """Wire the page of `layout.build_layout` to the studies of `source`."""

    def load(versions):
        try:
            return [source.load(name) for name in (versions or {})]
        except SqzdseError:
            raise PreventUpdate from None  # the live status line says what went wrong

    @app.callback(Output(ids.VERSIONS, "data"), Output(ids.STUDIES, "options"),
                  Output(ids.LIVE, "children"),
                  Input(ids.INTERVAL, "n_intervals"), Input(ids.STUDIES, "value"),
                  State(ids.VERSIONS, "data"), State(ids.STUDIES, "options"))
    def refresh(_tick, selected, known, options):
        try:
            names = source.study_names()
            versions = {name: source.version(name) for name in selected or [] if name in names}
        except SqzdseError as err:
            return no_update, no_update, f"· {err} (showing what was read before)"
        new_options = layout.study_options(names)
        return (versions if versions != known else no_update,
                new_options if new_options != options else no_update,
                f"· read at {time.strftime('%H:%M:%S')}")

    @app.callback(Output(ids.PARETO, "figure"), Output(ids.SUMMARY, "children"),
                  Output(ids.EMPTY, "children"), Output(ids.EMPTY, "style"),
                  Input(ids.VERSIONS, "data"), Input(ids.X, "value"), Input(ids.Y, "value"),
                  Input(ids.COLOR, "value"), prevent_initial_call=True)
    def main_view(versions, x, y, color):
        info = figures.pareto_info(load(versions), x=x, y=y, color=color)
        banner, style = layout.empty_state(figures.empty_message(info) if info.is_empty else None)
        return (figures.pareto_figure(info), layout.summary(figures.summary_lines(info)), banner,
                style)

    @app.callback(Output(ids.HYPERVOLUME, "figure"), Input(ids.VERSIONS, "data"),
                  Input(ids.X, "value"), Input(ids.Y, "value"), prevent_initial_call=True)
    def hypervolume(versions, x, y):
        return figures.hypervolume_figure(figures.hypervolume_info(load(versions), x=x, y=y))

    @app.callback(Output(ids.PARALLEL, "figure"), Input(ids.VERSIONS, "data"),
                  Input(ids.X, "value"), Input(ids.Y, "value"), prevent_initial_call=True)
    def parallel(versions, x, y):
        datas = load(versions)
        return figures.parallel_figure(figures.parallel_info(datas[0] if datas else None, x=x, y=y))

    @app.callback(Output(ids.TABLE, "data"), Input(ids.VERSIONS, "data"),
                  Input(ids.X, "value"), Input(ids.Y, "value"), prevent_initial_call=True)
    def table(versions, x, y):
        return figures.trial_table_rows(load(versions), x=x, y=y)

    @app.callback(Output(ids.SELECTED, "data"), Input(ids.PARETO, "clickData"),
                  Input(ids.TABLE, "active_cell"), prevent_initial_call=True)
    def select(click, cell):
        chosen = clicked_trial(click) if ctx.triggered_id == ids.PARETO else selected_row(cell)
        if chosen is None:
            raise PreventUpdate
        return chosen

    # In the browser: bring the detail panel into view (a table row is far below it).
    app.clientside_callback(
        """function(selected) {
            const panel = document.getElementById("%s");
            if (selected && panel) { panel.scrollIntoView({behavior: "smooth", block: "nearest"}); }
            return window.dash_clientside.no_update;
        }""" % ids.DETAIL,
        Output(ids.DETAIL, "className"), Input(ids.SELECTED, "data"), prevent_initial_call=True)

    @app.callback(Output(ids.DETAIL, "children"), Input(ids.SELECTED, "data"),
                  Input(ids.VERSIONS, "data"), prevent_initial_call=True)
    def detail(selected, _versions):
        if not selected:
            raise PreventUpdate
        try:
            data = source.load(selected["study"])
        except SqzdseError:
            raise PreventUpdate from None
        trial = details.trial_detail(data, selected["number"])
        curve = None if trial is None else figures.curve_figure(trial.curve, title="learning curve")
        return layout.detail_panel(trial, curve)
