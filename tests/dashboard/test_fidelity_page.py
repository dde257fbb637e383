"""The fidelity page of `sqzdse dashboard` (/fidelity/<study>): a stored fidelity study's
figures, its page, the page in Chromium."""

from __future__ import annotations

import sys

import optuna
import pytest

from sqzdse.cli import main
from sqzdse.dashboard import callbacks, create_app, routes
from sqzdse.dashboard.figures import fidelity as page
from sqzdse.dashboard.source import StudySource
from sqzdse.errors import StorageError
from sqzdse.fidelity import SIGNALS, build_report, finished_runs, stored_plans
from tests.dashboard.browser import chromium, free_port, require_chromium, serving, wait
from tests.search.helpers import write_space

STUDY = "tiny-fidelity"


def reports(url: str):
    """What the page draws: the reports the dashboard's source reads from the study."""
    return StudySource(url).fidelity_reports(STUDY)


def page_text(children) -> str:
    """Every string in the components `children`, joined."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif node is not None:
            walk(getattr(node, "children", None))

    walk(children)
    return " ".join(found)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A fidelity study made by the real command: 4 networks, 2 proxy seeds, 2 proxy epochs on
    100 images per class (fewer leave the tiny networks at chance: no ranking to draw), reference
    3 epochs on every image."""
    folder = tmp_path_factory.mktemp("fidelity")
    url = f"sqlite:///{folder / 'f.db'}"
    args = ["fidelity", "--space", str(write_space(folder)), "--storage", url, "--archs", "4"]
    args += ["--proxy-epochs", "2", "--proxy-train-per-class", "100", "--proxy-batch-size", "16"]
    args += ["--proxy-val-per-class", "20", "--reference-epochs", "3", "--json", "-q"]
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(args) == 0
    finally:
        torch.set_num_threads(threads)
    return url


def test_a_reader_rebuilds_the_report_from_the_stored_plan(stored):
    study = optuna.load_study(study_name=STUDY, storage=stored)
    (plan,) = stored_plans(study)
    report = build_report(plan, finished_runs(study))
    assert report.complete and len(report.networks) == 4 and len(report.by_epoch) == 2


def test_the_figures_show_the_report(stored):
    (report,) = reports(stored)
    agreement = page.agreement_figure(report).data[0]
    assert list(agreement.x) == [n.reference_top1 for n in report.networks]
    assert list(agreement.y) == [n.proxy_top1 for n in report.networks]
    bars = page.tau_figure(report).data[0]
    assert list(bars.y)[: len(SIGNALS)] == list(SIGNALS.values())
    assert bars.x[0] == pytest.approx(report.signals["proxy"].kendall_tau)
    epochs = page.epoch_figure(report).data[0]
    assert list(epochs.x) == [1, 2] and list(epochs.y) == list(report.by_epoch)


def test_the_page_says_what_is_wrong_with_a_storage(tmp_path):
    with pytest.raises(StorageError) as message:
        create_app(f"sqlite:///{tmp_path / 'none.db'}")
    assert "no study database" in str(message.value)
    searched = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(storage=searched, study_name="search")
    source = StudySource(searched)
    _, shown, _, _ = callbacks.show_page(source, "/fidelity", 0, None, triggered=routes.ids.URL)
    assert "holds 0 fidelity studies" in page_text(shown)


def test_the_page_in_chromium_shows_the_verdict_and_three_graphs(stored, tmp_path):
    require_chromium()
    from selenium.webdriver.common.by import By

    report = reports(stored)[0]
    port = free_port()
    command = [sys.executable, "-m", "sqzdse", "dashboard", "--storage", stored]
    command += ["--port", str(port)]
    # The storage holds no search: its first page is the fidelity study's.
    with serving(command, f"http://127.0.0.1:{port}/") as url, chromium(url, tmp_path) as driver:
        verdict = wait(
            driver, lambda d: d.find_elements(By.ID, "verdict-0"), "no verdict on the page"
        )
        assert verdict[0].text == report.verdict()
        for graph in ("agreement-0", "taus-0", "epochs-0"):
            wait(
                driver,
                lambda d, g=graph: d.execute_script(
                    f"const e = document.querySelector('#{g} .js-plotly-plot');"
                    "return e && e.data && e.data.length > 0;"
                ),
                f"graph {graph} not drawn",
            )
        points = driver.execute_script(
            "return document.querySelector('#agreement-0 .js-plotly-plot').data[0].x.length"
        )
        assert points == 4
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_search_dashboard_points_a_fidelity_study_to_this_page(stored):
    with pytest.raises(StorageError, match=r"holds fidelity runs .* /fidelity/tiny-fidelity"):
        StudySource(stored).load(STUDY)
