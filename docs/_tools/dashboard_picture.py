"""The README's and the docs' picture of the dashboard, taken from a real search.

    python docs/_tools/dashboard_picture.py            # -> docs/_static/dashboard.png

It serves `sqzdse dashboard` on the study that `benchmarks/front_fashion.py` searched and retrained
(`results/front_fashion.db`: 40 trials of `fashion_small` on Fashion-MNIST, the front retrained
beside SqueezeNet v1.0 and v1.1), opens it in headless Chromium and saves the main view's
graph: cost against accuracy, the Pareto front, the retrained networks and SqueezeNet. Needs the
`dev` extra (selenium) and the chromium and chromedriver binaries (Debian: `apt-get install
chromium chromium-driver`). Run it again after a change to the dashboard's look.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORAGE = f"sqlite:///{ROOT / 'results' / 'front_fashion.db'}"
WAIT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen) -> None:
    """Until `url` answers; raises RuntimeError with the server's output if it never does."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                output = proc.communicate()[0]
                raise RuntimeError(f"the dashboard did not start:\n{output}") from None
            time.sleep(0.25)


def screenshot(url: str, out: Path, *, width: int, height: int) -> None:
    """Save the main view's graph at `url` once it has drawn its points."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):  # selenium would otherwise fetch a browser from the network
        raise SystemExit("needs chromium and chromedriver: apt-get install chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        try:
            driver.get(url)
            WebDriverWait(driver, WAIT_S, poll_frequency=0.5).until(
                lambda d: d.execute_script(
                    "const g = document.querySelector('#pareto-graph .js-plotly-plot');"
                    "return g && g.querySelectorAll('.scatterlayer .points path').length > 20;"
                ),
                "the Pareto graph never drew its points",
            )
            time.sleep(2)  # let the other graphs and the table settle
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.find_element("id", "pareto-graph").screenshot(str(out))
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs/_static/dashboard.png")
    parser.add_argument("--storage", default=STORAGE)
    parser.add_argument("--study", default="front")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args()
    port = free_port()
    command = [sys.executable, "-m", "sqzdse", "dashboard", "--storage", args.storage]
    command += ["--study", args.study, "--port", str(port), "--refresh", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(url, proc)
        screenshot(url, args.output, width=args.width, height=args.height)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
