"""The documentation site builds strictly, its generated reference pages are complete, and
`sqzdse --help` lists every command as the documentation's table of contents.

The build is the one `.ci/run` makes (`sphinx-build -W --keep-going -n`: every warning, broken
link, missing page or bad cross-reference is an error), into a temporary folder. Then the pages
generated from the code are checked against the code: the export columns (from
`records.TRIAL_COLUMNS`), the metrics (from `records.METRICS`) and the command reference (from the
click commands).
"""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sqzdse.cli import COMMANDS, SECTIONS, cli
from sqzdse.records import METRIC_ORDER, TRIAL_COLUMNS
from tests.ci import missing

ROOT = Path(__file__).resolve().parents[1]


def _text(page: Path) -> str:
    """The page's text: tags dropped, entities decoded, whitespace collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.read_text()))
    return re.sub(r"\s+", " ", text)


def _table_rows(page: Path) -> list[list[str]]:
    """The cells of every body row of every table on the page, as text."""
    body = page.read_text()
    rows = []
    for tbody in re.findall(r"<tbody>(.*?)</tbody>", body, flags=re.S):
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", tbody, flags=re.S):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
            rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells])
    return rows


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("sphinx", "myst_parser", "sphinx_click"):
        if importlib.util.find_spec(module) is None:
            missing(
                f"needs {module} (pip install -e '.[docs]')",
                on_ci="where .ci/run installs the docs extra",
            )
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html"]
    command += [str(ROOT / "docs"), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"the strict docs build failed:\n{done.stdout}\n{done.stderr}"
    return out


@pytest.mark.slow
def test_export_columns_page_lists_every_column_in_order(site):
    rows = _table_rows(site / "reference" / "export-columns.html")
    expected = [(c.name, c.dtype, c.meaning.replace("`", "")) for c in TRIAL_COLUMNS]
    assert [tuple(row) for row in rows] == expected


@pytest.mark.slow
def test_space_file_page_lists_every_metric(site):
    rows = _table_rows(site / "reference" / "space-file.html")
    assert [r[0] for r in rows if r and r[0] in METRIC_ORDER] == list(METRIC_ORDER)


@pytest.mark.slow
def test_command_reference_has_every_command(site):
    text = _text(site / "reference" / "cli.html").replace(" ", "")
    for name in COMMANDS:
        assert f"sqzdse{name}[OPTIONS]" in text, name  # its usage line


@pytest.mark.slow
def test_site_needs_nothing_from_the_network(site):
    for page in site.rglob("*.html"):
        assets = re.findall(r'(?:src|href)="(https?:)?//[^"]*\.(?:js|css)"', page.read_text())
        assert not assets, f"{page.relative_to(site)} loads {assets} from the network"


def test_help_lists_every_command_once_by_section():
    listed = [name for lines in SECTIONS.values() for name in lines]
    assert sorted(listed) == sorted(COMMANDS)  # each command in exactly one section
    result = CliRunner().invoke(cli, ["--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    for title, lines in SECTIONS.items():
        assert f"\n{title}:\n" in result.output
        for name, line in lines.items():
            assert re.search(rf"^  {re.escape(name)} +{re.escape(line)}$", result.output, re.M)
    assert "docs/" in result.output  # where the documentation is


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if "://" not in t]
    assert len(local) >= 20  # the README links into the docs
    absent = [t for t in local if not (ROOT / t).exists()]
    assert not absent, f"README.md links to missing files: {absent}"
