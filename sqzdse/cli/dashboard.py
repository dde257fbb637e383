"""`sqzdse dashboard`: the studies of a storage in the browser, live and read-only: searches,
fidelity studies and the paper's sweeps, each on its page (`sqzdse.dashboard.routes`)."""

from __future__ import annotations

import logging
import math
import socket

import click

from sqzdse.errors import SqzdseError
from sqzdse.storage import single_storage_in

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.option(
    "--storage",
    help="Study storage URL, e.g. sqlite:///studies/micro.db "
    "[default: the only studies/*.db, when there is exactly one].",
)
@click.option(
    "--study",
    "study_name",
    help="Study shown first [default: the first search by name]; the page can show the others. "
    "A fidelity study (sqzdse fidelity) opens on its own page.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The dashboard has no authentication: anything but "
    "localhost lets the network read your studies.",
)
@click.option("--port", default=8050, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--refresh",
    "refresh_seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds between live refreshes; 0 turns them off.",
)
def dashboard(
    storage: str | None, study_name: str | None, host: str, port: int, refresh_seconds: float
) -> None:
    """Browse the Pareto front of a search, live while it runs; a fidelity study's report
    (/fidelity/STUDY, or pick it in the study picker) and the SqueezeNet paper's sweeps (/sweeps,
    from the paper_* studies in the storage or beside its file). Read-only: never writes or
    creates a database."""
    if not math.isfinite(refresh_seconds):
        raise SqzdseError(
            f"--refresh must be a finite number of seconds (0 turns live refresh "
            f"off), got {refresh_seconds}"
        )
    url = storage or single_storage_in()
    from sqzdse.dashboard import create_app

    _quiet_logs()
    app = create_app(url, study_name, refresh_seconds=refresh_seconds, preload=True)
    check_port_free(host=host, port=port)
    if host not in LOCAL_HOSTS:
        click.echo(
            f"sqzdse: warning: listening on {host}: the dashboard has no authentication, so "
            "anyone who can reach this address and port can read every study in "
            f"{url}. Use --host 127.0.0.1 (the default) unless that is what you want.",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"sqzdse dashboard: {url} at http://{shown}:{port}/ (read-only; Ctrl-C to stop)", err=True
    )
    app.run(host=host, port=port, debug=False)


def check_port_free(*, host: str, port: int) -> None:
    """SqzdseError when nothing can listen on (host, port): a bad host name or a port in use."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        raise SqzdseError(
            f"--host {host}: not an address of this machine ({err.strerror})"
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            raise SqzdseError(
                f"cannot listen on {host}:{port} ({err.strerror}); pass another --port"
            ) from None


def _quiet_logs() -> None:
    """Optuna's INFO lines and the web server's line per request are not for users."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
