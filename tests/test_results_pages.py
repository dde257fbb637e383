"""The results pages: every results file has its provenance and a page, and the tables render.

`docs/_ext/results_tables.py` renders each `results-table` directive of `docs/results/*.md` from a
file under `results/`. These tests read the pages' directives without building the site (the strict
Sphinx build in CI does that), and call the pure rendering function directly.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
PAGES = ROOT / "docs" / "results"
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import results_tables as rt  # noqa: E402

DIRECTIVE = re.compile(r"^```\{results-table\}(?P<args>[^\n]*)\n(?P<body>.*?)^```", re.M | re.S)


def directives() -> list[tuple[Path, list[Path], dict[str, str]]]:
    """(page, files, options) of every `results-table` directive on the results pages."""
    found = []
    for page in sorted(PAGES.glob("*.md")):
        for match in DIRECTIVE.finditer(page.read_text()):
            files = [(page.parent / arg).resolve() for arg in match["args"].split()]
            options = {}
            for line in match["body"].splitlines():
                option = re.match(r":(\w+):\s*(.*)", line)
                if option:
                    options[option[1]] = option[2]
            found.append((page, files, options))
    return found


def result_files() -> list[Path]:
    return sorted([*RESULTS.glob("*.json"), *RESULTS.glob("*.csv")])


def test_every_results_file_has_provenance():
    files = sorted(RESULTS.glob("*.json"))
    assert files, "no results/*.json"
    for path in files:
        record = json.loads(path.read_text())
        absent = [key for key in rt.PROVENANCE_KEYS if not record.get(key)]
        assert not absent, f"{path.name} lacks provenance {absent}"


def test_every_results_file_is_rendered_by_a_page():
    rendered = {path for _, files, _ in directives() for path in files}
    orphans = [path.name for path in result_files() if path.resolve() not in rendered]
    assert not orphans, f"results files no page renders: {orphans}"


def test_every_page_table_renders_from_its_files():
    found = directives()
    assert len(found) >= 20
    for page, files, options in found:
        table = rt.render_table(
            [(path.name, rt.read_record(path)) for path in files],
            rows=options.get("rows"),
            columns=rt.parse_pairs(options.get("columns"), "columns"),
            formats=dict(rt.parse_pairs(options.get("format"), "format")),
            optional={p for p, _ in rt.parse_pairs(options.get("optional"), "optional")},
        )
        assert table.rows, f"{page.name}: a table of {[f.name for f in files]} has no rows"


RECORD = {
    "date": "2026-01-02T03:04:05",
    "commit": "abc1234",
    "machine": "box: 2 cores, ",
    "command": "python benchmarks/x.py",
    "runs": [
        {"name": "a", "params": 1234567, "top1": 0.91234, "seeds": [0.9, 0.93], "ok": True},
        {"name": "b", "params": 89, "top1": None, "seeds": [0.5, 0.5], "ok": False},
    ],
}


def test_render_table_gives_the_expected_rows():
    table = rt.render_table(
        [("x.json", RECORD)],
        rows="runs",
        columns=[("name", "network"), ("params", "params"), ("top1", "top-1"), ("seeds", "±")],
        formats={"params": ",", "top1": ".2%", "seeds": "halfrange:.3f"},
    )
    assert table.headers == ["network", "params", "top-1", "±"]
    assert table.rows == [["a", "1,234,567", "91.23%", "0.015"], ["b", "89", "-", "0.000"]]
    assert table.provenance == [
        "x.json · date 2026-01-02T03:04:05 · commit abc1234 · machine box: 2 cores · "
        "command python benchmarks/x.py"
    ]


def test_render_table_lists_ranges_paths_and_flags():
    table = rt.render_table(
        [("x.json", RECORD), ("y.json", {**RECORD, "stale": "old code", "source": "typed"})],
        rows="runs",
        columns=[("seeds", "seeds"), ("seeds.1", "second"), ("ok", "ok"), ("seeds", "range")],
        formats={"seeds": "seeds:.2f", "seeds.1": ".1f", "ok": "yesno"},
    )
    assert table.rows[0] == ["0.90 · 0.93", "0.9", "yes", "0.90 · 0.93"]
    assert len(table.rows) == 4
    assert table.provenance[1].startswith("STALE: old code (y.json")
    assert "typed" in table.provenance[1]
    assert rt.format_value([19, 21], "range:d") == "19-21"
    assert rt.format_value([0.5, "never"], "list:.2f") == "0.50, never"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rows": "nope"}, "no rows at 'nope'"),
        ({"columns": [("missing", "m")]}, "no 'missing'"),
        ({"formats": {"other": ".2f"}}, "not columns"),
        ({"formats": {"name": "bogus:.2f"}}, "unknown transform 'bogus'"),
        ({"formats": {"params": "yesno"}}, "needs true or false"),
        ({"formats": {"params": "q"}}, "does not apply"),
    ],
)
def test_render_table_refuses_what_it_cannot_render(kwargs, message):
    settings = {"rows": "runs", "columns": [("name", "name"), ("params", "params")], **kwargs}
    with pytest.raises(rt.ResultsError, match=re.escape(message)):
        rt.render_table([("x.json", RECORD)], **settings)


def test_a_missing_path_may_be_optional_and_provenance_is_required():
    table = rt.render_table(
        [("x.json", RECORD)], rows="runs", columns=[("gone", "g")], optional={"gone"}, missing=""
    )
    assert table.rows == [[""], [""]]
    bare = {k: v for k, v in RECORD.items() if k != "commit"}
    with pytest.raises(rt.ResultsError, match=r"no provenance \['commit'\]"):
        rt.render_table([("x.json", bare)], rows="runs", columns=[("name", "n")])


def test_read_record_refuses_a_missing_file_and_non_objects(tmp_path):
    with pytest.raises(rt.ResultsError, match="no results file"):
        rt.read_record(tmp_path / "absent.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(rt.ResultsError, match="holds list"):
        rt.read_record(tmp_path / "list.json")
