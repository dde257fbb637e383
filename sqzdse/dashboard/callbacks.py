"""Callbacks: module-level functions that convert their inputs, call pure functions from `figures` /
`details`, and return. Each takes the StudySource first; `register` binds it and wires each function
to the page of `layout.build_layout`, so every callback can be called in a test as a plain function.

Live refresh: every tick, `refresh` asks the source for each selected study's version (a digest of
its trials' numbers, states and completion times); only when a version changed does the store
change, and only then do the views redraw. The page itself never reloads.

Pages (`routes`): `show_page` shows the page of the browser's path, the search page or another
(`pages`: a fidelity study's, the paper's sweeps), and redraws a fidelity page when its study
changed; `open_picked` opens the page of a fidelity study picked in the search page's picker.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping

from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from sqzdse.dashboard import details, figures, layout, pages, routes
from sqzdse.dashboard.figures.sweeps import SWEEPS
from sqzdse.dashboard.layout import ids
from sqzdse.dashboard.source import SEARCH_KIND, StudySource, sweep_trials
from sqzdse.dashboard.study_data import StudyData
from sqzdse.errors import SqzdseError
from sqzdse.records import FIDELITY_KIND


def clicked_trial(click: Mapping | None) -> dict | None:
    """{"study", "number"} of the point clicked in the main view (customdata [study, number])."""
    if not isinstance(click, Mapping):
        return None
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
        kinds = source.study_kinds()
        versions = {
            name: source.version(name) for name in selected or [] if kinds.get(name) == SEARCH_KIND
        }
    except SqzdseError as err:
        return no_update, no_update, f"· {err} (showing what was read before)"
    new_options = layout.study_options(list(kinds), kinds)
    return (
        versions if versions != known else no_update,
        new_options if new_options != options else no_update,
        f"· read at {time.strftime('%H:%M:%S')}",
    )


def axis_choices(source: StudySource, versions, x, y, x_options, y_options):
    """(x options, x, y options, y): the metrics the selected studies record
    (`figures.offered_axes`); an axis whose metric they lack moves to the first study's
    default. Unchanged parts are left as they are."""
    datas = load(source, versions)
    xs, ys = figures.offered_axes(datas)
    default_x, default_y = figures.default_axes(datas[0].objectives if datas else ())
    new_x = x if x in xs else (default_x if default_x in xs else next(iter(xs)))
    new_y = y if y in ys else (default_y if default_y in ys else next(iter(ys)))
    new_x_options, new_y_options = layout.axis_options(xs), layout.axis_options(ys)
    return (
        new_x_options if new_x_options != x_options else no_update,
        new_x if new_x != x else no_update,
        new_y_options if new_y_options != y_options else no_update,
        new_y if new_y != y else no_update,
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


def open_picked(source: StudySource, selected, *, prefix: str = "/"):
    """The path to load when a fidelity study was picked in the search page's picker: its own
    page. The page loads afresh (`routes.ids.JUMP`), so the study leaves the picker: it has no
    Pareto front. (Dash fires nothing after a callback that sets its own input, so the picker
    cannot drop it in place.)"""
    try:
        kinds = source.study_kinds()
    except SqzdseError:
        raise PreventUpdate from None
    picked = [name for name in selected or [] if kinds.get(name) == FIDELITY_KIND]
    if not picked:
        raise PreventUpdate
    return routes.href(routes.path_of(routes.Route(routes.FIDELITY, picked[-1])), prefix)


def show_page(
    source: StudySource,
    pathname,
    _tick,
    shown,
    *,
    prefix: str = "/",
    study_name: str | None = None,
    triggered: str | None = None,
):
    """(search page style, other page's children, its style, what is shown) for the browser's
    path. A tick redraws only a fidelity page whose study changed (`source.version`); the sweeps
    are read again on each visit."""
    triggered = ctx.triggered_id if triggered is None else triggered
    if triggered == ids.INTERVAL and (shown or {}).get("page") != routes.FIDELITY:
        raise PreventUpdate  # only a fidelity page follows its study live
    problem: str | None = None
    try:
        kinds = source.study_kinds()
    except SqzdseError as err:
        if triggered == ids.INTERVAL:
            raise PreventUpdate from None
        kinds, problem = {}, str(err)
    start = routes.start_study(kinds, study_name)
    route = routes.resolve(routes.relative(pathname, prefix), kinds=kinds, start=start)
    now: dict = {"page": route.page, "study": route.study}
    if route.page == routes.SEARCH:
        if shown == now:
            raise PreventUpdate
        return {}, [], layout.HIDDEN, now
    fidelity = [name for name, kind in kinds.items() if kind == FIDELITY_KIND]
    if route.page == routes.FIDELITY and route.study is not None and problem is None:
        try:
            now["version"] = source.version(route.study, kind=FIDELITY_KIND)
        except SqzdseError as err:
            problem = str(err)
    if triggered == ids.INTERVAL and (shown == now or "version" not in now):
        raise PreventUpdate  # unchanged; the sweeps and the messages are read on each visit
    if route.page == routes.FIDELITY:
        title = f"Proxy fidelity: {route.study}" if route.study else "Proxy fidelity"
        body = pages.fidelity_page(
            route.study,
            problem if problem is not None else _reports(source, route.study),
            studies=fidelity,
            storage=source.url,
            prefix=prefix,
        )
    elif problem is not None:
        title, body = "Cannot read the storage", [html.P(problem, style={"color": "#a33"})]
    elif route.page == routes.SWEEPS:
        title = "SqueezeNet paper sweeps, reproduced"
        body = pages.sweeps_page({name: sweep_trials(source.url, name) for name in SWEEPS})
    else:
        title = "No such page"
        body = [html.P(f"Nothing is served at {route.study}; the pages are linked above.")]
    return layout.HIDDEN, pages.frame(source.url, prefix, title, body), pages.PAGE_STYLE, now


def _reports(source: StudySource, study: str | None):
    """The reports of fidelity study `study`, or why they cannot be read; [] for no study."""
    if study is None:
        return []
    try:
        return source.fidelity_reports(study)
    except SqzdseError as err:
        return str(err)


# In the browser: bring the detail panel into view (a table row is far below it).
SCROLL_TO_DETAIL = """function(selected) {
    const panel = document.getElementById("DETAIL");
    if (selected && panel) { panel.scrollIntoView({behavior: "smooth", block: "nearest"}); }
    return window.dash_clientside.no_update;
}""".replace("DETAIL", ids.DETAIL)


def register(app, source: StudySource, *, study_name: str | None = None) -> None:
    """Wire the pages of `routes` (the search page: `layout.build_layout`) to the studies of
    `source`; `study_name` is the study shown first."""
    prefix = app.config.requests_pathname_prefix

    def bound(func, **settings):
        return functools.update_wrapper(functools.partial(func, source, **settings), func)

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
        Output(routes.ids.SEARCH_PAGE, "style"),
        Output(routes.ids.PAGE, "children"),
        Output(routes.ids.PAGE, "style"),
        Output(routes.ids.SHOWN, "data"),
        Input(routes.ids.URL, "pathname"),
        Input(ids.INTERVAL, "n_intervals"),
        State(routes.ids.SHOWN, "data"),
    )(bound(show_page, prefix=prefix, study_name=study_name))
    app.callback(
        Output(routes.ids.JUMP, "href"),
        Input(ids.STUDIES, "value"),
        prevent_initial_call=True,
    )(bound(open_picked, prefix=prefix))
    app.callback(
        Output(ids.X, "options"),
        Output(ids.X, "value"),
        Output(ids.Y, "options"),
        Output(ids.Y, "value"),
        Input(ids.VERSIONS, "data"),
        State(ids.X, "value"),
        State(ids.Y, "value"),
        State(ids.X, "options"),
        State(ids.Y, "options"),
        prevent_initial_call=True,
    )(bound(axis_choices))
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
