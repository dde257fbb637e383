"""Where a benchmark's figures come from, written beside them: date, commit, machine, command."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_result(path: str | Path, figures: dict) -> Path:
    """`figures` as JSON at `path`, after the date, commit, machine and command that made them."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    record = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": commit or "unknown",
        "machine": f"{platform.node()}: {os.cpu_count()} cores, {platform.processor()}",
        "command": " ".join(["python", *sys.argv]),
        **figures,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"written: {path}", file=sys.stderr)
    return path
