"""`create_app`: the Dash application over every study of one storage, read-only: the search page,
a page per fidelity study and the paper's sweeps (`routes` lists their paths)."""

from __future__ import annotations

import contextlib
import math
import threading

import dash
from dash import dcc, html

from sqzdse.dashboard import callbacks, figures, layout, routes
from sqzdse.dashboard.source import SEARCH_KIND, StudySource
from sqzdse.errors import SqzdseError, StorageError

DEFAULT_REFRESH_SECONDS = 5.0


def create_app(
    storage_url: str,
    study_name: str | None = None,
    *,
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    preload: bool = False,
    title: str = "sqzdse dashboard",
) -> dash.Dash:
    """The dashboard for the studies in `storage_url`, showing `study_name` first (default: the
    first search by name; a fidelity study's page when the storage holds no search). The storage
    is opened read-only and must exist.

    `refresh_seconds` is the live refresh period (0 turns it off). `preload` starts reading the
    first study in a background thread, so the first page view of a large study waits less
    (Optuna reads 5,000 trials from SQLite in seconds). Raises StorageError for a missing or
    unreadable storage or an unknown study, ValueError for a bad `refresh_seconds`.
    """
    if (
        not isinstance(refresh_seconds, (int, float))
        or isinstance(refresh_seconds, bool)
        or not math.isfinite(refresh_seconds)
        or refresh_seconds < 0
    ):
        raise ValueError(f"`refresh_seconds` must be a number >= 0, got {refresh_seconds!r}")
    source = StudySource(storage_url)
    names = source.study_names()
    if study_name is not None and study_name not in names:
        raise StorageError(
            f"no study named {study_name!r} in {storage_url}; studies there: "
            f"{', '.join(names) or 'none'}"
        )
    refresh_ms = int(round(refresh_seconds * 1000))

    # update_title None: the tab keeps its title while callbacks run (Dash's hints say str only)
    app = dash.Dash(__name__, title=title, update_title=None)  # type: ignore[arg-type]
    prefix = app.config.requests_pathname_prefix

    def page() -> html.Div:
        try:
            kinds = source.study_kinds()
            searches = [name for name, kind in kinds.items() if kind == SEARCH_KIND]
            first = study_name if study_name in searches else next(iter(searches), None)
            x, y = figures.default_axes(source.objectives(first) if first else ())
        except SqzdseError as err:
            return html.Div(f"sqzdse dashboard: {err}", style={"padding": "24px"})
        search = layout.build_layout(
            storage=storage_url,
            studies=list(kinds),
            selected=[first] if first else [],
            x=x,
            y=y,
            refresh_ms=refresh_ms,
            kinds=kinds,
            nav=routes.nav(prefix),
        )
        return html.Div(
            [
                dcc.Location(id=routes.ids.URL, refresh="callback-nav"),
                dcc.Location(id=routes.ids.JUMP, refresh=True),
                dcc.Store(id=routes.ids.SHOWN, data=None),
                html.Div(search, id=routes.ids.SEARCH_PAGE),
                html.Div(id=routes.ids.PAGE, style=layout.HIDDEN, className="sqzdse-page"),
            ]
        )

    app.layout = page
    callbacks.register(app, source, study_name=study_name)
    first = study_name or (names[0] if names else None)
    if preload and first is not None:
        threading.Thread(
            target=_preload, args=(source, first), daemon=True, name="sqzdse-dashboard-preload"
        ).start()
    return app


def _preload(source: StudySource, name: str) -> None:
    with contextlib.suppress(SqzdseError):  # the page reports storage problems when it reads
        if source.study_kinds().get(name) == SEARCH_KIND:
            source.load(name)
