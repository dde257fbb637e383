"""dashboards/fidelity.py: a stored fidelity study's figures, its page, the page in Chromium."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import optuna
import pytest

from sqzdse.cli import main
from sqzdse.fidelity._report import SIGNALS, build_report
from sqzdse.fidelity._store import finished_runs, stored_plans
from tests.dashboard.browser import chromium, free_port, require_chromium, serving, wait
from tests.search.helpers import write_space

PAGE = Path(__file__).resolve().parents[2] / "dashboards" / "fidelity.py"


def load_page():
    spec = importlib.util.spec_from_file_location("fidelity_page", PAGE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    study = optuna.load_study(study_name="tiny-fidelity", storage=stored)
    (plan,) = stored_plans(study)
    report = build_report(plan, finished_runs(study))
    assert report.complete and len(report.networks) == 4 and len(report.by_epoch) == 2


def test_the_figures_show_the_report(stored):
    page = load_page()
    (report,) = page.reports(stored, None)
    agreement = page.agreement_figure(report).data[0]
    assert list(agreement.x) == [n.reference_top1 for n in report.networks]
    assert list(agreement.y) == [n.proxy_top1 for n in report.networks]
    bars = page.tau_figure(report).data[0]
    assert list(bars.y)[: len(SIGNALS)] == list(SIGNALS.values())
    assert bars.x[0] == pytest.approx(report.signals["proxy"].kendall_tau)
    epochs = page.epoch_figure(report).data[0]
    assert list(epochs.x) == [1, 2] and list(epochs.y) == list(report.by_epoch)


def test_the_page_says_what_is_wrong_with_a_storage(tmp_path):
    page = load_page()
    (message,) = page.page(f"sqlite:///{tmp_path / 'none.db'}", None)
    assert "no study database" in message.children
    searched = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(storage=searched, study_name="search")
    (message,) = page.page(searched, None)
    assert "holds 0 fidelity studies" in message.children


def test_the_page_in_chromium_shows_the_verdict_and_three_graphs(stored, tmp_path):
    require_chromium()
    from selenium.webdriver.common.by import By

    report = load_page().reports(stored, None)[0]
    port = free_port()
    command = [sys.executable, str(PAGE), "--storage", stored, "--port", str(port)]
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
    from sqzdse.dashboard.source import StudySource
    from sqzdse.errors import StorageError

    with pytest.raises(StorageError, match=r"holds fidelity runs .* python dashboards/fidelity.py"):
        StudySource(stored).load("tiny-fidelity")
