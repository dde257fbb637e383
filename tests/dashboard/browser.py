"""A real server process and headless Chromium for the dashboard tests.

Tests using them are skipped only when the chromium or chromedriver binary is absent, and fail on
CI (CI=true) instead, where `.ci/run` installs both.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ci import missing

WAIT_S = 40  # generous: the machine running the tests may be busy


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    return found or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None)


CHROMIUM, CHROMEDRIVER = _binary("chromium"), _binary("chromedriver")
ABSENT = [n for n, b in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if b is None]


def require_chromium() -> None:
    if ABSENT:
        missing(
            f"needs the chromium and chromedriver binaries (missing: {', '.join(ABSENT)}); "
            "on Debian: apt-get install chromium chromium-driver",
            on_ci="where .ci/run installs them",
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(command: list[str], url: str) -> Iterator[str]:
    """Run `command` (a web server) until `url` answers 200; stop it afterwards."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.status == 200
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the server did not start:\n{proc.communicate()[0]}")
            time.sleep(0.25)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def chromium(url: str, profile: Path) -> Iterator:
    """Headless Chromium (through chromedriver) showing `url`, with a fresh profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1500,1900",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        driver.get(url)
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(condition, message)
