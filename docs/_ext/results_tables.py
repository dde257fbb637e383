"""The `results-table` directive: a table rendered from results files, with their provenance.

Every measured figure of the project lives once, in `results/<name>.json`, beside the date, commit,
machine and command that produced it (`benchmarks/_provenance.py` writes that format). A results
page renders a table from such a file, so a number is typed once and a stale one shows its date:

    ```{results-table} ../../results/trainer.json
    :rows: loops
    :columns: label=loop; top1=top-1; images_per_second=images/s
    :format: top1=.3f; images_per_second=,.0f
    ```

Arguments: one or more files, relative to the page (the rows of several files are concatenated, and
each file's provenance is printed). Options, each a `;`-separated list:

- `rows`: a dotted path to the list of row objects (an object is one row); default: the whole file.
- `columns`: `path=header` entries (a path alone is its own header). A path is dotted; an integer
  segment indexes a list (`variants.1.top1`).
- `format`: `path=spec` entries. A spec is a Python format spec (`,`, `.2%`, `.3f`) applied to
  numbers, optionally after a transform and a colon: `list:` (elements joined by ", "), `words:`
  (by " "), `seeds:` (by " · "), `slash:` (by " / "), `range:` (`[lo, hi]` as "lo-hi"),
  `halfrange:` (half of a list's max - min); or `yesno` (a boolean as yes / no). Strings are shown
  as they are; null as `missing`.
- `optional`: paths that may be absent from a row (shown as `missing`); any other absent path is an
  error, as are an unknown file, a file without provenance and an unknown option or transform.
- `missing`: the text for an absent or null value (default "-").

The rendering is the pure function `render_table`; `ResultsTable` is only its docutils glue.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

PROVENANCE_KEYS = ("date", "commit", "machine", "command")
SEPARATORS = {"list": ", ", "words": " ", "seeds": " · ", "slash": " / "}
TRANSFORMS = (*SEPARATORS, "range", "halfrange")


class ResultsError(ValueError):
    """A results file, path or option that cannot be rendered; the message says what is valid."""


@dataclass(frozen=True)
class Table:
    """A rendered table: its header cells, its body rows and each source file's provenance line."""

    headers: list[str]
    rows: list[list[str]]
    provenance: list[str]


def parse_pairs(text: str | None, option: str) -> list[tuple[str, str]]:
    """`a=x; b; c=y` as [(a, x), (b, b), (c, y)]: the `columns` and `format` options' syntax."""
    pairs = []
    for entry in (text or "").split(";"):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        key = key.strip()
        if not key:
            raise ResultsError(f":{option}: entry {entry!r} has no path before '='")
        pairs.append((key, value.strip() if sep else key))
    return pairs


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted `path` in `data` (integer segments index lists).

    Raises KeyError naming the first segment that is not there.
    """
    value = data
    for segment in path.split("."):
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and segment.lstrip("-").isdigit():
            index = int(segment)
            if not -len(value) <= index < len(value):
                raise KeyError(f"{segment!r} (a list of {len(value)})")
            value = value[index]
        else:
            have = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise KeyError(f"{segment!r} of {path!r} (there: {have})")
    return value


def format_value(value: Any, spec: str, missing: str = "-") -> str:
    """One cell: `value` formatted by `spec` (see the module's docstring for the syntax)."""
    if value is None:
        return missing
    transform, _, number_spec = spec.partition(":") if ":" in spec else ("", "", spec)
    if spec == "yesno":
        if not isinstance(value, bool):
            raise ResultsError(f"format 'yesno' needs true or false, got {value!r}")
        return "yes" if value else "no"
    if transform and transform not in TRANSFORMS:
        raise ResultsError(f"unknown transform {transform!r} in {spec!r}; valid: {TRANSFORMS}")
    if transform:
        if not isinstance(value, list):
            raise ResultsError(f"format {spec!r} needs a list, got {value!r}")
        if transform == "range":
            if len(value) != 2:
                raise ResultsError(f"format {spec!r} needs [low, high], got {value!r}")
            return "-".join(format_value(v, number_spec, missing) for v in value)
        if transform == "halfrange":
            return format_value((max(value) - min(value)) / 2, number_spec, missing)
        return SEPARATORS[transform].join(format_value(v, number_spec, missing) for v in value)
    if isinstance(value, list):
        return ", ".join(format_value(v, spec, missing) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return missing
    try:
        return format(value, spec)
    except (ValueError, TypeError) as err:
        raise ResultsError(f"format spec {spec!r} does not apply to {value!r}: {err}") from None


def provenance_line(record: dict, name: str) -> str:
    """`name`'s date, commit, machine and command; where transcribed or stale, that too (first)."""
    absent = [key for key in PROVENANCE_KEYS if key not in record]
    if absent:
        raise ResultsError(f"{name} has no provenance {absent}; it needs {list(PROVENANCE_KEYS)}")
    machine = str(record["machine"]).rstrip(", ")
    line = (
        f"{name} · date {record['date']} · commit {record['commit']} · machine {machine} · "
        f"command {record['command']}"
    )
    if "source" in record:
        line += f" · {record['source']}"
    if "stale" in record:
        line = f"STALE: {record['stale']} ({line})"
    return line


def render_table(
    files: list[tuple[str, dict]],
    *,
    rows: str | None = None,
    columns: list[tuple[str, str]],
    formats: dict[str, str] | None = None,
    optional: set[str] | frozenset[str] = frozenset(),
    missing: str = "-",
) -> Table:
    """The table of `columns` over the rows at path `rows` of each (name, record) in `files`.

    Pure: no file is read. Raises ResultsError for a missing row list, a missing value outside
    `optional`, a format path that is no column, or a spec that does not apply.
    """
    if not columns:
        raise ResultsError(":columns: is empty; name at least one path")
    formats = formats or {}
    paths = [path for path, _ in columns]
    stray = sorted(set(formats) - set(paths))
    if stray:
        raise ResultsError(f":format: names {stray}, which are not columns; columns: {paths}")
    body: list[list[str]] = []
    provenance = []
    for name, record in files:
        provenance.append(provenance_line(record, name))
        try:
            found = lookup(record, rows) if rows else record
        except KeyError as err:
            raise ResultsError(f"{name}: no rows at {rows!r}: {err.args[0]}") from None
        for index, row in enumerate(found if isinstance(found, list) else [found]):
            cells = []
            for path in paths:
                try:
                    value = lookup(row, path)
                except KeyError as err:
                    if path in optional:
                        value = None
                    else:
                        raise ResultsError(
                            f"{name}, row {index}: no {err.args[0]}; add the path to :optional: "
                            "if rows may lack it"
                        ) from None
                cells.append(format_value(value, formats.get(path, ""), missing))
            body.append(cells)
    return Table([header for _, header in columns], body, provenance)


def read_record(path: Path) -> dict:
    """The JSON object in `path`; ResultsError for a missing file or one that is not an object."""
    if not path.is_file():
        raise ResultsError(f"no results file {path}")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ResultsError(f"{path} is not JSON: {err}") from None
    if not isinstance(record, dict):
        raise ResultsError(f"{path} holds {type(record).__name__}; a results file is an object")
    return record


def table_node(table: Table) -> nodes.table:
    """A docutils table of `table`'s header and rows, every cell plain text."""
    width = len(table.headers)
    group = nodes.tgroup(cols=width)
    group += [nodes.colspec(colwidth=1) for _ in range(width)]

    def row_node(cells: list[str]) -> nodes.row:
        row = nodes.row()
        for text in cells:
            row += nodes.entry("", nodes.paragraph(text=text))
        return row

    group += nodes.thead("", row_node(table.headers))
    group += nodes.tbody("", *[row_node(cells) for cells in table.rows])
    table_node = nodes.table("", group, classes=["results-table"])
    table_node["support_smartquotes"] = False  # data as written: "--flag" stays two hyphens
    return table_node


class ResultsTable(SphinxDirective):
    """Renders `render_table` of the files given as arguments, then their provenance lines."""

    required_arguments = 1
    optional_arguments = 8
    option_spec = {
        "rows": directives.unchanged,
        "columns": directives.unchanged_required,
        "format": directives.unchanged,
        "optional": directives.unchanged,
        "missing": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        try:
            files = []
            for argument in self.arguments:
                relative, absolute = self.env.relfn2path(argument, self.env.docname)
                self.env.note_dependency(relative)
                files.append((Path(argument).name, read_record(Path(absolute))))
            optional = {p for p, _ in parse_pairs(self.options.get("optional"), "optional")}
            table = render_table(
                files,
                rows=self.options.get("rows"),
                columns=parse_pairs(self.options.get("columns"), "columns"),
                formats=dict(parse_pairs(self.options.get("format"), "format")),
                optional=optional,
                missing=self.options.get("missing") or ("" if "missing" in self.options else "-"),
            )
        except ResultsError as err:
            raise self.error(f"results-table: {err}") from None
        out: list[nodes.Node] = [table_node(table)]
        for line in table.provenance:
            paragraph = nodes.paragraph(text=line, classes=["results-provenance"])
            paragraph["support_smartquotes"] = False  # a command's "--flag" stays as typed
            out.append(nodes.warning("", paragraph) if line.startswith("STALE:") else paragraph)
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("results-table", ResultsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
