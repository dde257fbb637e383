"""Every example the documentation includes (docs/examples/) runs, so none can rot.

Each Python example runs as its own process, as a reader would run it, in an empty temporary folder
(an example that writes a study writes it there), on one thread. Each space file loads, and the one
the README shows is the one here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sqzdse.space import load_space

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))
SPACES = sorted((ROOT / "docs" / "examples").glob("*.yaml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3, EXAMPLES  # the glob found the folder


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(example: Path, tmp_path: Path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"{example.name} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{example.name} printed nothing"
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("path", SPACES, ids=lambda path: path.name)
def test_example_space_loads(path: Path):
    space = load_space(str(path))
    assert space.name == path.stem


def test_readme_shows_the_example_space():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block == (ROOT / "docs" / "examples" / "my_space.yaml").read_text()
