"""A deployable entry point: the sqzdse dashboard as a WSGI application named `server` (every
page of `sqzdse dashboard`: searches, fidelity studies, the paper's sweeps).

    SQZDSE_STORAGE=sqlite:///studies/micro.db \
        gunicorn --workers 2 --bind 127.0.0.1:8050 dashboards.wsgi:server

Environment:
- SQZDSE_STORAGE (required): the study storage URL; read-only, never created.
- SQZDSE_STUDY (optional): the study shown first.
- SQZDSE_REFRESH (optional): seconds between live refreshes, 0 for none (default 5).

The dashboard has no authentication: bind it to localhost, or put it behind a proxy that checks
who is asking. Any WSGI server works (gunicorn, waitress, uwsgi); run it from the repository root,
or put this folder on PYTHONPATH and use `wsgi:server`. Each worker process reads the storage on
its own (read-only, see `sqzdse.dashboard.source`).
"""

from __future__ import annotations

import os

from sqzdse.dashboard import create_app


def _settings(environ) -> tuple[str, str | None, float]:
    storage = environ.get("SQZDSE_STORAGE", "").strip()
    if not storage:
        raise RuntimeError(
            "dashboards/wsgi.py: set SQZDSE_STORAGE to the study storage URL, e.g. "
            "SQZDSE_STORAGE=sqlite:///studies/micro.db"
        )
    refresh = environ.get("SQZDSE_REFRESH", "5")
    try:
        seconds = float(refresh)
    except ValueError:
        raise RuntimeError(
            f"dashboards/wsgi.py: SQZDSE_REFRESH must be a number of seconds, got {refresh!r}"
        ) from None
    return storage, environ.get("SQZDSE_STUDY") or None, seconds


_storage, _study, _refresh = _settings(os.environ)
app = create_app(_storage, _study, refresh_seconds=_refresh, preload=True)
server = app.server
