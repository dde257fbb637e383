"""The pages besides the search page (`layout`): a fidelity study's, and the paper's sweeps.

Components only, from what `source` read; `callbacks.show_page` puts them in the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
from dash import dcc, html

from sqzdse.dashboard import routes
from sqzdse.dashboard.figures import fidelity as fidelity_figures
from sqzdse.dashboard.figures.sweeps import SWEEPS, sweep_figure
from sqzdse.dashboard.layout import CARD, FONT, HEADER

if TYPE_CHECKING:
    from sqzdse.fidelity import FidelityReport

PAGE_STYLE = {
    "fontFamily": FONT,
    "background": "#f6f7f9",
    "padding": "12px 18px",
    "minHeight": "100vh",
    "boxSizing": "border-box",
}
TEXT = {"maxWidth": "1000px", "fontSize": "14px", "color": "#333"}


def frame(storage: str, prefix: str, title: str, children: Sequence) -> list:
    """A page: the dashboard's header with the links to every page, then `title` and `children`."""
    return [
        html.Div(
            [
                html.H2("sqzdse dashboard", style={"margin": 0, "fontSize": "22px"}),
                html.Code(storage, style={"fontSize": "13px", "color": "#333"}),
                html.Span("read-only", style={"fontSize": "12px", "color": "#777"}),
                routes.nav(prefix),
            ],
            style=HEADER,
        ),
        html.Div([html.H1(title, style={"fontSize": "20px"}), *children], style=CARD),
    ]


def report_section(report: FidelityReport, index: int) -> html.Div:
    """One plan's section: its settings and verdict as text, then the three figures."""
    from sqzdse.fidelity import format_report

    text = format_report(report).splitlines()
    settings, verdict = text[:3], text[-1]
    return html.Div(
        [
            html.H2(f"Plan {index + 1}: {len(report.networks)} networks measured"),
            html.Pre("\n".join(settings)),
            html.P(verdict, id=f"verdict-{index}", className="verdict"),
            dcc.Graph(id=f"agreement-{index}", figure=fidelity_figures.agreement_figure(report)),
            dcc.Graph(id=f"taus-{index}", figure=fidelity_figures.tau_figure(report)),
            dcc.Graph(id=f"epochs-{index}", figure=fidelity_figures.epoch_figure(report)),
        ]
    )


def fidelity_page(
    study: str | None,
    reports: Sequence[FidelityReport] | str,
    *,
    studies: Sequence[str],
    storage: str,
    prefix: str = "/",
) -> list:
    """The page of fidelity study `study` of `storage`: one section per plan of `reports`, or the
    message `reports` when it is one; `studies` are the storage's fidelity studies, linked."""
    children: list = [
        html.P(
            "How well the proxy's accuracy orders networks the way the longer reference "
            "training does, beside the order the parameter count alone gives.",
            style=TEXT,
        )
    ]
    if len(studies) > 1:
        children.append(
            html.P(["Fidelity studies here: ", *routes.study_links(list(studies), study, prefix)])
        )
    if study is None:
        message = (
            f"{storage} holds 0 fidelity studies; make one with "
            f"`sqzdse fidelity --space SPACE --storage {storage}`"
        )
    elif isinstance(reports, str):
        message = f"sqzdse fidelity page: {reports}"
    elif not reports:
        message = "The study holds no fidelity plan yet."
    else:
        children += [report_section(r, i) for i, r in enumerate(reports)]
        return children
    children.append(html.P(message, id="fidelity-error", style={"color": "#a33"}))
    return children


def sweeps_page(loaded: Mapping[str, pd.DataFrame | str]) -> list:
    """One figure per sweep of SWEEPS whose trials `loaded` holds; for the others, the message
    `loaded` gives with how to make the study."""
    sections: list = [
        html.P(
            "Accuracy is this project's proxy (small data, short training): compare the "
            "shapes of the curves with the paper's, not the numbers. Sizes and "
            "multiply-accumulates are exact counts of the same designs at the paper's scale.",
            style=TEXT,
        )
    ]
    for name, sweep in SWEEPS.items():
        found = loaded.get(name, "not read")
        if isinstance(found, str):
            sections.append(
                html.P(
                    f"{sweep.title}: no study to draw ({found}). Make it with "
                    f"`sqzdse search --space {name}.yaml`.",
                    id=f"{name}-missing",
                    className="missing-study",
                )
            )
        else:
            sections.append(dcc.Graph(id=f"{name}-graph", figure=sweep_figure(found, sweep)))
    return sections
