"""Sphinx configuration for the sqzdse documentation site.

Build strictly (every warning is an error, every cross-reference checked):
    sphinx-build -W --keep-going -n -b html docs docs/_build/html
The site needs nothing from the network: `python -m http.server -d docs/_build/html`.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))  # this site's own extensions
sys.path.insert(0, str(DOCS.parent))  # the sqzdse package, also when it is not installed

project = "sqzdse"
author = "sqzdse authors"
copyright = "sqzdse authors"

extensions = [
    "myst_parser",  # Markdown pages, like the README
    "sphinx.ext.autodoc",  # the Python API from the docstrings
    "sphinx.ext.viewcode",
    "docstrings",  # the package's Markdown-style docstrings read as reStructuredText
    "sphinx_click",  # every command's help, generated from the click commands
    "results_tables",  # results pages rendered from results/*.json
    "records_tables",  # the export columns and the metrics, generated from sqzdse.records
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
smartquotes = False  # keep quotes as typed: messages and names are quoted code-like
exclude_patterns = ["_build", "examples", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # `[text](page.md#a-heading)` links resolve and are checked

autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_mock_imports: list[str] = []

# `-n` checks every reference. Not checked: names from other libraries (their inventories would
# come from the network, through intersphinx), type aliases and internal classes named in
# annotations, and the fragments Sphinx makes of some annotations ("tuple[Epoch" of a tuple type).
nitpick_ignore_regex = [
    (r"py:.*", r"~?(optuna|torch|pd|pandas|np|numpy|click|sqlalchemy|dash|plotly)\..*"),
    (r"py:.*", r"~?(yaml|datetime)\..*"),
    (r"py:.*", r"(samplers|nn|Module|optuna|torch|Path|Any|Callable|Iterable|Iterator|Mapping)"),
    (r"py:.*", r"(Sequence|Literal|TypeAlias|NamedTuple|Enum|samplers\.BaseSampler)"),
    (r"py:.*", r"(collections\.abc|typing|pathlib|os|enum|dataclasses|concurrent)\..*"),
    (r"py:class", r".*[\[\]'].*"),  # fragments of generic annotations
    (r"py:class", r"D\[k\].*"),  # dict.get's docstring, inherited by Mapping subclasses
    (r"py:class", r"sqzdse\.(space\.(ParamKind|Conv1Pool)|retry\.ResilientStorage)"),
]
suppress_warnings = ["myst.header"]

html_theme = "alabaster"  # Sphinx's default: no CDN assets, the site serves offline
html_title = "sqzdse"
html_static_path = ["_static"]  # custom.css (alabaster loads it), the dashboard's picture
html_theme_options = {
    "description": "Design-space exploration for SqueezeNet",
    "fixed_sidebar": True,
    "page_width": "1240px",  # room for the results tables
    "body_max_width": "none",
}
