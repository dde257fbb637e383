"""Tables generated from `sqzdse.records`, so the reference pages cannot drift from the code.

- ``trial-columns``: the columns of the trials DataFrame and of every export (CSV, Parquet, JSON),
  in order, with dtype and meaning, from `sqzdse.records.TRIAL_COLUMNS`.
- ``metrics-table``: every metric a trial can record, from `sqzdse.records.METRICS`: its direction,
  where it comes from, and whether a space may name it in `objectives:` or `constraints:`.

In a Markdown page::

    ```{trial-columns}
    ```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def column_rows() -> list[tuple[str, str, str]]:
    """(name, dtype, meaning) of each column of `TRIAL_COLUMNS`, in export order."""
    from sqzdse.records import TRIAL_COLUMNS

    return [(c.name, c.dtype, c.meaning) for c in TRIAL_COLUMNS]


def metric_rows() -> list[tuple[str, str, str, str, str, str]]:
    """(name, direction, source, objective, constraint, meaning) of each metric, in column order."""
    from sqzdse.records import METRIC_ORDER, METRICS
    from sqzdse.space import CONSTRAINT_METRICS

    return [
        (
            name,
            str(METRICS[name].direction),
            METRICS[name].source.value,
            "yes" if METRICS[name].objective else "",
            "yes" if name in CONSTRAINT_METRICS else "",
            METRICS[name].meaning,
        )
        for name in METRIC_ORDER
    ]


def _cell(text: str, *, code: bool = False) -> nodes.entry:
    """A table cell holding `text`; Markdown `code` spans in it become inline literals."""
    paragraph = nodes.paragraph()
    if code:
        paragraph += nodes.literal(text, text)
    else:
        for i, part in enumerate(text.split("`")):
            if part:
                paragraph += nodes.literal(part, part) if i % 2 else nodes.Text(part)
    return nodes.entry("", paragraph)


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
) -> nodes.table:
    """A docutils table of `rows` under `header`, its first column as code.

    Built as nodes rather than as reStructuredText to parse, because the pages are Markdown (MyST)
    and a nested parse there would read a `list-table` as text.
    """
    group = nodes.tgroup(cols=len(header))
    group += [nodes.colspec(colwidth=width) for width in widths]
    head = nodes.thead()
    head += nodes.row("", *(_cell(title) for title in header))
    body = nodes.tbody()
    for row in rows:
        body += nodes.row("", _cell(row[0], code=True), *(_cell(cell) for cell in row[1:]))
    group += [head, body]
    return nodes.table("", group, classes=["records-table"])


class TrialColumns(SphinxDirective):
    """The table of `TRIAL_COLUMNS` where the directive stands."""

    def run(self) -> list[nodes.Node]:
        return [table(("column", "dtype", "meaning"), column_rows(), (20, 12, 68))]


class MetricsTable(SphinxDirective):
    """The table of `METRICS` where the directive stands."""

    def run(self) -> list[nodes.Node]:
        header = ("metric", "direction", "source", "objective", "constraint", "meaning")
        return [table(header, metric_rows(), (18, 10, 10, 8, 8, 46))]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("trial-columns", TrialColumns)
    app.add_directive("metrics-table", MetricsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
