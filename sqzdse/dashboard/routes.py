"""The dashboard's pages and their URL paths, and the navigation between them.

    /                  the page of the study shown first: the search page, or the fidelity
                       page when that is a fidelity study (`--study`, or the storage holds no
                       search)
    /search            the search page: Pareto front, hypervolume, parallel coordinates, trial table
    /fidelity/<study>  a fidelity study (`sqzdse fidelity`): how well the proxy ranks networks
    /fidelity          the first fidelity study of the storage
    /sweeps            the SqueezeNet paper's sweeps, from the `paper_*` studies

Paths are relative to the app's `requests_pathname_prefix` (a WSGI server may mount the app below
`/`). The search page stays in the page, hidden, while another shows, so its callbacks and its
state (studies picked, axes, the selected trial) survive a visit to another page. Pure functions
and components only; `callbacks.show_page` picks the page.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from dash import dcc, html

from sqzdse.records import FIDELITY_KIND

SEARCH, FIDELITY, SWEEPS, MISSING = "search", "fidelity", "sweeps", "missing"


class ids:  # noqa: N801 - a namespace of component ids
    URL = "page-url"
    JUMP = "page-jump"  # setting its href loads that page afresh
    SEARCH_PAGE = "search-page"
    PAGE = "other-page"
    SHOWN = "shown-page"


@dataclass(frozen=True)
class Route:
    """Which page a path shows: `page` is SEARCH, FIDELITY, SWEEPS or MISSING; `study` the
    fidelity study (None when the storage holds none), or the path nothing answers (MISSING)."""

    page: str
    study: str | None = None


def path_of(route: Route) -> str:
    """The path (below the prefix) that shows `route`."""
    if route.page == FIDELITY and route.study is not None:
        return f"/fidelity/{urllib.parse.quote(route.study, safe='')}"
    return {SEARCH: "/search", FIDELITY: "/fidelity", SWEEPS: "/sweeps"}.get(route.page, "/")


def start_study(kinds: Mapping[str, str], study_name: str | None) -> str | None:
    """The study shown first: `study_name` when the storage holds it, else the first search
    study, else the first study of any kind; None for an empty storage."""
    if study_name in kinds:
        return study_name
    searches = [n for n, kind in kinds.items() if kind != FIDELITY_KIND]
    first = searches or list(kinds)
    return first[0] if first else None


def resolve(path: str | None, *, kinds: Mapping[str, str], start: str | None) -> Route:
    """The page of `path` (below the prefix), for a storage whose studies are of `kinds`
    (name -> kind) and whose first study shown is `start`."""
    parts = [urllib.parse.unquote(p) for p in (path or "/").strip("/").split("/") if p]
    if not parts:
        if start is not None and kinds.get(start) == FIDELITY_KIND:
            return Route(FIDELITY, start)
        return Route(SEARCH)
    if parts == ["search"]:
        return Route(SEARCH)
    if parts == ["sweeps"]:
        return Route(SWEEPS)
    if parts[0] == "fidelity" and len(parts) <= 2:
        if len(parts) == 2:
            return Route(FIDELITY, parts[1])
        fidelity = [n for n, kind in kinds.items() if kind == FIDELITY_KIND]
        return Route(FIDELITY, fidelity[0] if fidelity else None)
    return Route(MISSING, "/" + "/".join(parts))


def relative(pathname: str | None, prefix: str) -> str:
    """`pathname` (the browser's) below the app's `prefix` ("/" unless mounted elsewhere)."""
    pathname = pathname or "/"
    base = prefix.rstrip("/")
    if base and (pathname == base or pathname.startswith(base + "/")):
        pathname = pathname[len(base) :]
    return pathname or "/"


def href(path: str, prefix: str) -> str:
    """The browser's path of `path` (below the app's `prefix`)."""
    return prefix.rstrip("/") + "/" + path.lstrip("/")


LINK = {"fontSize": "13px", "color": "#00509e", "marginRight": "14px"}


def nav(prefix: str) -> html.Nav:
    """Links to every page; in-app navigation (no reload)."""
    pages = (
        ("Search", Route(SEARCH)),
        ("Fidelity", Route(FIDELITY)),
        ("Paper sweeps", Route(SWEEPS)),
    )
    return html.Nav(
        [dcc.Link(text, href=href(path_of(route), prefix), style=LINK) for text, route in pages]
    )


def study_links(names: list[str], current: str | None, prefix: str) -> list:
    """A link to the page of each study of `names`; the current one in bold, not a link."""
    links: list = []
    for name in names:
        if name == current:
            links.append(html.Strong(name, style={**LINK, "color": "#111"}))
        else:
            path = path_of(Route(FIDELITY, name))
            links.append(dcc.Link(name, href=href(path, prefix), style=LINK))
    return links
