"""The running dashboard in headless Chromium: the Pareto graph, a click on a trial, live refresh
(of trials and of a retrained network), and the compressed size as the x axis with a compressed
trial's drill-down.

Starts the real command (`python -m sqzdse dashboard`) on a study made by sqzdse.testing.
Skipped only when the chromium or chromedriver binary is absent; fails then on CI, which installs
both.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from sqzdse.arch import count_params
from sqzdse.compression import CompressionReport, LayerReport, Settings
from sqzdse.records import Epoch, Status, TrialRecord, analytic_metrics
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url
from tests.dashboard.browser import (
    chromium,
    free_port,
    require_chromium,
    serving,
    wait,
)


@pytest.fixture(autouse=True)
def _chromium_present():
    require_chromium()


SCREENSHOT = Path("/tmp/dashboard.png")
STUDY = "browser"
ARCHS = {  # trial number -> (architecture changes, top5)
    0: ({}, 0.95),
    1: ({"sr": 0.25}, 0.97),
    2: ({"base_e": 64, "incr_e": 64}, 0.90),
    3: ({"base_e": 32, "incr_e": 32}, 0.85),
    4: ({"base_e": 32, "incr_e": 32, "pct_3x3": 0.75}, 0.80),
    9: ({"base_e": 32, "incr_e": 32, "sr": 0.5}, 0.88),
}
FIRST_FRONT = {0, 1, 2, 3, 5, 9}  # by hand: 4 loses to 3; 5 is 0 reused (a tie); 6-8 never count
STOPPED = 10  # stopped at a rung: smaller than 3 at a higher partial top-5, and never on the front
COMPRESSED = 11  # the only compressed trial: the largest network, off the front (0 beats it)
REPORT = CompressionReport(  # two layers of a Deep Compression report, made up
    settings=Settings(density=0.33, bits=6, finetune_epochs=3),
    layers=[
        LayerReport("conv1", 1_728, 570, 6, 4, 63, 2, 64, 1_223, 1_100),
        LayerReport("conv10", 5_120, 1_690, 6, 5, 63, 0, 10, 2_616, 2_400),
    ],
    header_bytes=900,
    file_bytes=4_400,
    dense_bytes=27_688,
    top1_before=0.70,
    top5_before=0.80,
    top1_after=0.685,
    top5_after=0.79,
    seconds=12.0,
)


class Study:
    """The study the dashboard shows, and what the test wrote into it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.study = create_study(sqlite_url(path), study_name=STUDY)
        self.points: dict[int, tuple[int, float]] = {}  # COMPLETE trials: number -> (params, top5)
        self.archs = {}
        for number in range(10):
            if number in ARCHS:
                self.add(small_arch(**ARCHS[number][0]), ARCHS[number][1])
            elif number == 5:
                self.points[
                    add_trial(self.study, status="reused", reused_from=0, top1=0.8, top5=0.95)
                ] = self.points[0]
            else:
                add_trial(
                    self.study,
                    **({"status": "failed"}, {"status": "infeasible"}, {"state": "RUNNING"})[
                        number - 6
                    ],
                )
        stopped = add_trial(
            self.study,
            arch=small_arch(base_e=32, incr_e=32, pct_3x3=0.25),
            status="stopped",
            top1=0.89,
            top5=0.99,
        )
        assert stopped == STOPPED
        assert self.add_compressed(small_arch(sr=0.5), 0.80) == COMPRESSED

    def add_compressed(self, arch, top5: float) -> int:
        """A trial trained and compressed (REPORT), written as the search writes it."""
        record = TrialRecord(
            arch=arch,
            status=Status.OK,
            metrics={
                **analytic_metrics(arch),
                "top1": top5 - 0.1,
                "top5": top5,
                "train_seconds": 2.0,
                "compressed_bytes": REPORT.file_bytes,
                "top1_compressed": REPORT.top1_after,
                "top5_compressed": REPORT.top5_after,
            },
            curve=(Epoch(epoch=1, train_loss=0.5, top1=top5 - 0.1, top5=top5, seconds=2.0),),
            compression=REPORT.to_dict(),
        )
        self.study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.COMPLETE,
                values=[top5, record.metrics["params"]],
                user_attrs=record.user_attrs(),
            )
        )
        number = len(self.study.get_trials(deepcopy=False)) - 1
        self.points[number] = (record.metrics["params"], top5)
        self.archs[number] = arch
        return number

    def add(self, arch, top5: float) -> int:
        number = add_trial(self.study, arch=arch, top1=top5 - 0.1, top5=top5)
        self.points[number] = (count_params(arch), top5)
        self.archs[number] = arch
        return number

    def front(self) -> set[int]:
        """Non-dominated trials (params down, top5 up), by brute force."""

        def dominates(a, b):
            return a[0] <= b[0] and a[1] >= b[1] and a != b

        return {
            n
            for n, p in self.points.items()
            if not any(dominates(q, p) for q in self.points.values())
        }


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Study:
    made = Study(tmp_path_factory.mktemp("browser") / "browser.db")
    assert made.front() == FIRST_FRONT  # the test data is what the comments say
    return made


@pytest.fixture(scope="module")
def server(study):
    """The real `sqzdse dashboard` command, refreshing every second."""
    port = free_port()
    command = [sys.executable, "-m", "sqzdse", "dashboard", "--storage", sqlite_url(study.path)]
    command += ["--study", STUDY, "--port", str(port), "--refresh", "1"]
    with serving(command, f"http://127.0.0.1:{port}/") as url:
        yield url


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    require_chromium()  # module fixtures come before the autouse one: skip, or fail on CI, here
    with chromium(server, tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


GRAPH = "document.querySelector('#pareto-graph .js-plotly-plot')"


def traces(driver, role: str) -> list[list[int]]:
    """Trial numbers (from customdata) of each trace of the Pareto graph with `meta.role`."""
    return driver.execute_script(
        f"""
        const g = {GRAPH};
        if (!g || !g.data) return [];
        return g.data.filter(t => t.meta && t.meta.role === arguments[0])
                     .map(t => (t.customdata || []).map(c => c[1]));""",
        role,
    )


def test_pareto_graph_click_shows_the_layer_table(browser, study, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    expected = study.front()
    wait(
        browser,
        lambda d: {n for t in traces(d, "front") for n in t} == expected,
        f"the Pareto graph never showed the front {sorted(expected)}",
    )
    (front,) = traces(browser, "front")
    assert len(front) == len(expected)  # each front trial drawn once
    plotted = sorted(n for t in traces(browser, "trials") for n in t)
    assert plotted == sorted(study.points)  # failed, infeasible and running trials are not drawn
    assert traces(browser, "stopped") == [[STOPPED]]  # drawn apart, faint
    wait(
        browser,
        lambda d: (
            d.execute_script(
                "const g = document.querySelector('#hypervolume-graph .js-plotly-plot');"
                "return g && g.layout && g.layout.xaxis.title.text;"
            )
            == "cumulative training seconds"
        ),
        "the hypervolume graph is not drawn against training seconds",
    )

    # Click trial 3 (the smallest network, on the front) where plotly drew it.
    params3 = study.points[3][0]
    point = browser.execute_script(
        f"""
        const paths = {GRAPH}.querySelectorAll('.scatterlayer .trace .points path');
        return Array.from(paths).find(p => p.__data__ && p.__data__.x === arguments[0]);""",
        params3,
    )
    assert point is not None, "no SVG point for trial 3"
    ActionChains(browser).move_to_element(point).click().perform()
    wait(
        browser,
        lambda d: "trial #3" in d.find_element(By.ID, "trial-detail").text,
        "clicking trial 3 did not show its detail",
    )
    wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#layer-table td[data-dash-column='layer']"),
        "no layer table",
    )
    names = [
        cell.text
        for cell in browser.find_elements(
            By.CSS_SELECTOR, "#layer-table td[data-dash-column='layer']"
        )
    ]
    assert names == [
        "conv1",
        "maxpool1",
        "fire2",
        "fire3",
        "maxpool3",
        "fire4",
        "fire5",
        "maxpool5",
        "fire6",
        "fire7",
        "fire8",
        "fire9",
        "dropout",
        "conv10",
        "avgpool",
        "total",
    ]
    detail = browser.find_element(By.ID, "trial-detail").text
    assert "sqzdse train --preset v1.1 --base-e 32 --incr-e 32" in detail
    assert f"{params3:,}" in detail

    time.sleep(0.5)  # let the learning curve finish drawing
    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    shutil.copyfile(shot, SCREENSHOT)

    # A row of the trial table selects its trial too, and the detail panel scrolls into view.
    (cell,) = [
        td
        for td in browser.find_elements(
            By.CSS_SELECTOR, "#trial-table td[data-dash-column='number']"
        )
        if td.text == "9"
    ]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    cell.click()
    wait(
        browser,
        lambda d: "trial #9" in d.find_element(By.ID, "trial-detail").text,
        "clicking the table row of trial 9 did not show its detail",
    )
    wait(
        browser,
        lambda d: d.execute_script(
            "const r = document.getElementById('trial-detail').getBoundingClientRect();"
            "return r.top < window.innerHeight && r.bottom > 0;"
        ),
        "the detail panel is out of view",
    )
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe


def test_size_only_labels_cover_no_point_and_no_other_label(browser):
    """SqueezeNet v1.0 and v1.1 (727,626 and 740,554 parameters: nearly one line) are not trained
    in the study: each is a dotted line whose label must stay clear of every point and of the
    other label, as Chromium lays them out."""
    wait(browser, lambda d: traces(d, "front"), "the Pareto graph never appeared")
    labels, points = browser.execute_script(
        f"""
        const g = {GRAPH};
        const box = e => {{
            const r = e.getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom];
        }};
        const labels = Array.from(g.querySelectorAll('.annotation-text'))
            .filter(t => t.textContent.includes('size only')).map(box);
        const points = Array.from(g.querySelectorAll('.scatterlayer .trace .points path'))
            .map(box).filter(b => b[2] > b[0]);
        return [labels, points];"""
    )
    assert len(labels) == 2 and len(points) >= len(FIRST_FRONT)

    def overlap(a, b) -> bool:
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    assert not overlap(labels[0], labels[1]), labels
    covered = [(label, point) for label in labels for point in points if overlap(label, point)]
    assert covered == [], covered


def test_live_refresh_without_reloading_the_page(browser, study):
    wait(browser, lambda d: traces(d, "front"), "the Pareto graph never appeared")
    browser.execute_script("window.__not_reloaded = true;")
    start = time.monotonic()
    number = study.add(small_arch(base_e=32, incr_e=32, pct_3x3=0.75, sr=0.25), 0.99)
    assert time.monotonic() - start < 5  # the dashboard never holds a lock the writer waits on
    expected = study.front()
    assert number in expected and 3 in expected and len(expected) == 2
    wait(
        browser,
        lambda d: {n for t in traces(d, "front") for n in t} == expected,
        f"the page never showed the new front {sorted(expected)}",
    )
    assert browser.execute_script("return window.__not_reloaded === true;")
    # The trial table refreshes in the same callback, but the browser renders it after the graph.
    wait(
        browser,
        lambda d: (
            str(number)
            in d.execute_script(
                "return Array.from(document.querySelectorAll("
                "\"#trial-table td[data-dash-column='number']\"))"
                ".map(td => td.textContent)"
            )
        ),
        f"the trial table never showed the new trial {number} (newest first)",
    )
    assert browser.execute_script("return window.__not_reloaded === true;")

    # `sqzdse retrain` records trial 0 (and so 5, its reused twin): drawn once, at test accuracy.
    retrained = {"top1": 0.85, "top5": 0.96, "test_top1": 0.84, "test_top5": 0.95}
    study.study.set_user_attr("retrained:0", retrained | {"test_top1_by_seed": [0.83, 0.85]})
    wait(
        browser,
        lambda d: traces(d, "retrained") == [[0]],
        "the retrained trial never appeared beside the front",
    )


def test_compressed_size_axis_and_a_compressed_trials_drill_down(browser, study):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    wait(browser, lambda d: traces(d, "front"), "the Pareto graph never appeared")
    browser.find_element(By.ID, "x-metric").click()
    option = wait(
        browser,
        lambda d: d.find_elements(
            By.XPATH,
            "//label[contains(@class, 'dash-dropdown-option')]"
            "[.//input[@value='compressed_bytes']]",
        ),
        "the x axis offers no compressed size",
    )[0]
    assert option.text == "compressed size in bytes (Deep Compression)"
    option.click()
    wait(
        browser,
        lambda d: (
            d.execute_script(f"const g = {GRAPH}; return g && g.layout.xaxis.title.text;")
            == "compressed size in bytes (Deep Compression) (log scale)"
        ),
        "the x axis did not switch to the compressed size",
    )
    # Only the compressed trial is drawn, at its file's bytes; no SqueezeNet reference line.
    wait(
        browser,
        lambda d: sorted(n for t in traces(d, "trials") for n in t) == [COMPRESSED],
        "trials without a compressed size are drawn",
    )
    assert traces(browser, "reference") == []
    summary = browser.find_element(By.ID, "pareto-summary").text
    assert "it is measured by compressing each trial's trained weights" in summary

    point = browser.execute_script(
        f"""
        const paths = {GRAPH}.querySelectorAll('.scatterlayer .trace .points path');
        return Array.from(paths).find(p => p.__data__ && p.__data__.x === arguments[0]);""",
        REPORT.file_bytes,
    )
    assert point is not None, "no SVG point at the compressed trial's bytes"
    ActionChains(browser).move_to_element(point).click().perform()
    wait(
        browser,
        lambda d: f"trial #{COMPRESSED}" in d.find_element(By.ID, "trial-detail").text,
        "clicking the compressed trial did not show its detail",
    )
    rows = wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#compression-layer-table tr"),
        "no compression layer table",
    )
    assert [r.text.split() for r in rows] == [
        ["layer", "weights", "nonzero", "density", "bits", "gap", "bits", "fillers"]
        + ["estimate", "B", "file", "B"],
        ["conv1", "1,728", "570", "33.0%", "6", "4", "2", "1,223", "1,100"],
        ["conv10", "5,120", "1,690", "33.0%", "6", "5", "0", "2,616", "2,400"],
        ["total", "6,848", "2,260", "33.0%", "2", "3,839", "3,500"],
    ]
    report = browser.find_element(By.ID, "compression-report").text
    for text in (
        "density 33% · 6 bits per weight · 3 fine-tune epochs per phase",
        "compressed file 4,400 bytes",
        "ratio vs 32-bit 6.3× smaller",
        "top-5 before → after 80.00% → 79.00%",
    ):
        assert text in report
    shot = Path("/tmp/dashboard-compression.png")
    browser.execute_script(
        "document.getElementById('compression-report').scrollIntoView({block: 'center'});"
    )
    assert browser.save_screenshot(str(shot))

    # A trial that was not compressed has no compression section.
    (cell,) = [
        td
        for td in browser.find_elements(
            By.CSS_SELECTOR, "#trial-table td[data-dash-column='number']"
        )
        if td.text == "0"
    ]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    cell.click()
    wait(
        browser,
        lambda d: "trial #0" in d.find_element(By.ID, "trial-detail").text,
        "clicking the table row of trial 0 did not show its detail",
    )
    assert browser.find_elements(By.ID, "layer-table")
    assert not browser.find_elements(By.ID, "compression-report")
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe
