"""Reads sqzdse's docstrings and command help, written in Markdown habits, as reStructuredText.

The package's docstrings use Markdown conventions: `name` for code, and "- " lists that follow a
paragraph line directly. reStructuredText reads `name` as a title reference and wants a blank line
around a list, so autodoc would render them wrongly and warn (an error under `-W`). This extension
rewrites each docstring's lines before autodoc parses them, and each command's help text before
sphinx-click does:

- `code` becomes ``code`` (an inline literal), and a `*` outside code is escaped (it is never
  emphasis in these docstrings);
- a blank line goes before a list that follows a paragraph line and after a list that a paragraph
  line follows.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx

_CODE = re.compile(r"(?<![`\\])`([^`\n]+)`(?![`_])")
_ITEM = re.compile(r"^(\s*)[-*] \S")


def _inline(line: str) -> str:
    """`code` -> ``code``; `*` outside code escaped."""
    parts = re.split(r"(``[^`]+``|(?<![`\\])`[^`\n]+`(?![`_]))", line)
    out = []
    for part in parts:
        if part.startswith("``"):
            out.append(part)
        elif part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"``{part[1:-1]}``")
        else:
            out.append(re.sub(r"(?<!\\)\*(?! )", r"\\*", part) if not _ITEM.match(part) else part)
    return "".join(out)


def markdown_lines(lines: list[str]) -> list[str]:
    """The docstring's lines as reStructuredText (see the module docstring); a pure function."""
    out: list[str] = []
    list_indent: int | None = None  # the indentation of the list being read, if any
    literal_indent: int | None = None  # inside an indented literal block after "::"
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if stripped and indent <= literal_indent:
                literal_indent = None
            else:
                out.append(line)
                continue
        item = _ITEM.match(line)
        if item:
            if out and out[-1].strip() and list_indent is None:
                out.append("")
            list_indent = indent
        elif list_indent is not None:
            if not stripped:
                list_indent = None
            elif indent <= list_indent:
                out.append("")
                list_indent = None
        text = _inline(line)
        if text.rstrip().endswith("::"):
            literal_indent = indent
        out.append(text)
    return out


def _process(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    lines[:] = markdown_lines(lines)


def _process_click(app: Sphinx, ctx: Any, lines: list[str]) -> None:
    lines[:] = markdown_lines(lines)


# sphinx-click's events for the parts of a command's help it renders as reStructuredText.
CLICK_EVENTS = ("description", "usage", "options", "arguments", "envvars", "epilog")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx_click")  # registers the events connected below
    app.connect("autodoc-process-docstring", _process)
    for part in CLICK_EVENTS:
        app.connect(f"sphinx-click-process-{part}", _process_click)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
