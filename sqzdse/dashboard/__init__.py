"""The sqzdse dashboard: a read-only Dash app over the studies of one storage.

    from sqzdse.dashboard import create_app
    create_app("sqlite:///studies/micro.db").run(port=8050)

`figures` and `details` are pure functions of `data.StudyData`; `source` reads storages;
`layout` builds the page; `callbacks` wires them together.
"""

from sqzdse.dashboard.app import create_app

__all__ = ["create_app"]
