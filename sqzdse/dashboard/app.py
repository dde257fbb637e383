"""`create_app`: the Dash application over every study of one storage, read-only."""

from __future__ import annotations

import contextlib
import math
import threading

import dash
from dash import html

from sqzdse.dashboard import callbacks, figures, layout
from sqzdse.dashboard.source import StudySource
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
    first study by name). The storage is opened read-only and must exist.

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

    def page() -> html.Div:
        try:
            present = source.study_names()
            first = study_name if study_name in present else (present[0] if present else None)
            x, y = figures.default_axes(source.objectives(first) if first else ())
        except SqzdseError as err:
            return html.Div(f"sqzdse dashboard: {err}", style={"padding": "24px"})
        return layout.build_layout(
            storage=storage_url,
            studies=present,
            selected=[first] if first else [],
            x=x,
            y=y,
            refresh_ms=refresh_ms,
        )

    app = dash.Dash(__name__, title=title, update_title=None)
    app.layout = page
    callbacks.register(app, source)
    first = study_name or (names[0] if names else None)
    if preload and first is not None:
        threading.Thread(
            target=_preload, args=(source, first), daemon=True, name="sqzdse-dashboard-preload"
        ).start()
    return app


def _preload(source: StudySource, name: str) -> None:
    with contextlib.suppress(SqzdseError):  # the page reports storage problems when it reads
        source.load(name)
