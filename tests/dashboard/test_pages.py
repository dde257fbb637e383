"""The dashboard's pages (`routes`, `pages`, `callbacks.show_page`): the search page, a page per
fidelity study, the paper's sweeps; the study picker that knows a fidelity study from a search;
the page shell that holds them all. Callbacks are called as plain functions on factory studies."""

from __future__ import annotations

import json

import optuna
import plotly.utils
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from sqzdse.dashboard import callbacks, create_app, layout, routes
from sqzdse.dashboard.layout import ids
from sqzdse.dashboard.source import SEARCH_KIND, StudySource, sweep_storages
from sqzdse.records import FIDELITY_KIND, STUDY_KIND
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url

pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table.DataTable will be removed:DeprecationWarning"
)

URL_CHANGED = routes.ids.URL  # what triggers `show_page` on a visit
KINDS = {"a": SEARCH_KIND, "fid": FIDELITY_KIND, "z": SEARCH_KIND}


def component_ids(node) -> dict:
    """id -> component of every component under `node` (a component or a list of them)."""
    found = {}

    def walk(node):
        if isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif node is not None and not isinstance(node, str | int | float):
            if getattr(node, "id", None):
                found[node.id] = node
            walk(getattr(node, "children", None))

    walk(node)
    return found


def text_of(node) -> str:
    """Every string under `node`, joined."""
    if isinstance(node, str):
        return node
    if isinstance(node, list | tuple):
        return " ".join(text_of(child) for child in node)
    return text_of(getattr(node, "children", None) or [])


@pytest.fixture
def url(tmp_path) -> str:
    """A storage with a search study `micro` (two trials) and a fidelity study `fid` (no plan
    measured yet), marked as `sqzdse fidelity` marks it."""
    url = sqlite_url(tmp_path / "mixed.db")
    study = create_study(url, study_name="micro")
    add_trial(study, top1=0.5, top5=0.8)
    add_trial(study, arch=small_arch(sr=0.5), top1=0.7, top5=0.9)
    fid = optuna.create_study(storage=url, study_name="fid", direction="maximize")
    fid.set_user_attr(STUDY_KIND, FIDELITY_KIND)
    return url


# ---------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("path", "start", "route"),
    [
        ("/", "a", routes.Route(routes.SEARCH)),
        ("/", "fid", routes.Route(routes.FIDELITY, "fid")),  # the first study shown is fidelity
        ("/", None, routes.Route(routes.SEARCH)),
        ("/search", "fid", routes.Route(routes.SEARCH)),
        ("/search/", "a", routes.Route(routes.SEARCH)),
        ("/fidelity", "a", routes.Route(routes.FIDELITY, "fid")),  # the first fidelity study
        ("/fidelity/fid", "a", routes.Route(routes.FIDELITY, "fid")),
        ("/fidelity/a%20b%2Fc", "a", routes.Route(routes.FIDELITY, "a b/c")),
        ("/sweeps", "a", routes.Route(routes.SWEEPS)),
        ("/nope/x", "a", routes.Route(routes.MISSING, "/nope/x")),
        (None, "a", routes.Route(routes.SEARCH)),
    ],
)
def test_each_path_shows_its_page(path, start, route):
    assert routes.resolve(path, kinds=KINDS, start=start) == route


def test_paths_round_trip_and_follow_the_prefix():
    for route in (
        routes.Route(routes.SEARCH),
        routes.Route(routes.FIDELITY, "a b/c"),
        routes.Route(routes.SWEEPS),
    ):
        assert routes.resolve(routes.path_of(route), kinds={}, start=None) == route
    assert routes.resolve("/fidelity", kinds={"a": SEARCH_KIND}, start="a") == routes.Route(
        routes.FIDELITY, None
    )
    assert routes.href("/sweeps", "/") == "/sweeps"
    assert routes.href("/sweeps", "/board/") == "/board/sweeps"
    assert routes.relative("/board/sweeps", "/board/") == "/sweeps"
    assert routes.relative("/board", "/board/") == "/"
    assert routes.relative("/sweeps", "/") == "/sweeps" and routes.relative(None, "/") == "/"


def test_the_first_study_shown():
    assert routes.start_study(KINDS, None) == "a"  # a search before a fidelity study
    assert routes.start_study(KINDS, "fid") == "fid"  # --study names it
    assert routes.start_study({"fid": FIDELITY_KIND}, None) == "fid"
    assert routes.start_study({}, None) is None


# ---------------------------------------------------------------------------- the picker


def test_the_source_tells_a_fidelity_study_from_a_search(url):
    source = StudySource(url)
    assert source.study_kinds() == {"fid": FIDELITY_KIND, "micro": SEARCH_KIND}
    assert source.fidelity_reports("fid") == []  # no plan measured yet
    with pytest.raises(Exception, match="is a search, not a fidelity study"):
        source.fidelity_reports("micro")


def test_the_picker_labels_a_fidelity_study_and_refresh_reads_only_searches(url):
    source = StudySource(url)
    known, options, _ = callbacks.refresh(source, 1, ["micro", "fid"], None, [])
    assert known == {"micro": source.version("micro")}  # the fidelity study has no front
    assert options == [
        {"label": "fid (fidelity study: opens its page)", "value": "fid"},
        {"label": "micro", "value": "micro"},
    ]


def test_picking_a_fidelity_study_opens_its_page(url):
    source = StudySource(url)
    assert callbacks.open_picked(source, ["micro", "fid"]) == "/fidelity/fid"
    assert callbacks.open_picked(source, ["fid"], prefix="/board/") == "/board/fidelity/fid"
    with pytest.raises(PreventUpdate):
        callbacks.open_picked(source, ["micro"])  # a search stays on the search page


# ---------------------------------------------------------------------------- the pages


def show(source, path, shown=None, *, triggered=URL_CHANGED, study_name=None):
    return callbacks.show_page(source, path, 0, shown, triggered=triggered, study_name=study_name)


def test_the_search_page_shows_and_the_others_hide(url):
    source = StudySource(url)
    search_style, children, style, shown = show(source, "/")
    assert search_style == {} and children == [] and style == layout.HIDDEN
    assert shown == {"page": routes.SEARCH, "study": None}
    with pytest.raises(PreventUpdate):
        show(source, "/search", shown)  # already shown: the search page keeps its state
    with pytest.raises(PreventUpdate):
        show(source, "/", shown, triggered=ids.INTERVAL)


def test_a_fidelity_page_and_its_live_redraw(url):
    source = StudySource(url)
    search_style, children, style, shown = show(source, "/fidelity/fid")
    assert search_style == layout.HIDDEN and style != layout.HIDDEN
    assert shown["page"] == routes.FIDELITY and shown["study"] == "fid"
    found = component_ids(children)
    assert "The study holds no fidelity plan yet." in text_of(found["fidelity-error"])
    assert "Proxy fidelity: fid" in text_of(children)
    with pytest.raises(PreventUpdate):  # a tick with nothing new
        show(source, "/fidelity/fid", shown, triggered=ids.INTERVAL)
    fid = optuna.load_study(study_name="fid", storage=url)
    fid.add_trial(optuna.trial.create_trial(value=0.5))  # a run finished
    *_, again = show(source, "/fidelity/fid", shown, triggered=ids.INTERVAL)
    assert again["version"] != shown["version"]
    # `--study fid`: the first page is the fidelity study's
    assert show(source, "/", study_name="fid")[3]["study"] == "fid"


def test_a_search_study_on_the_fidelity_page_says_so(url):
    *_, children, _, _ = show(StudySource(url), "/fidelity/micro")
    message = text_of(component_ids(children)["fidelity-error"])
    assert "is a search, not a fidelity study" in message


def test_an_unknown_path_says_so(url):
    _, children, _, shown = show(StudySource(url), "/nope")
    assert shown["page"] == routes.MISSING and "Nothing is served at /nope" in text_of(children)


def _sr_study(url: str):
    study = create_study(
        url, study_name="paper_sr", objectives=(("top1", "maximize"), ("params", "minimize"))
    )
    for sr, top1 in [(0.125, 0.80), (0.125, 0.84), (0.5, 0.90), (1.0, 0.91)]:
        add_trial(study, arch=small_arch(sr=sr), top1=top1, top5=0.99)
    return study


def test_sweep_page_with_a_missing_study(tmp_path):
    _sr_study(sqlite_url(tmp_path / "paper_sr.db"))
    _, children, _, _ = show(StudySource(sqlite_url(tmp_path / "paper_sr.db")), "/sweeps")
    found = component_ids(children)
    assert "paper_sr-graph" in found
    assert (
        "paper_pct-missing" in found
        and "sqzdse search --space paper_pct.yaml" in found["paper_pct-missing"].children
    )
    assert not (tmp_path / "paper_pct.db").exists()


def test_sweeps_are_read_beside_the_storage_and_again_on_every_visit(tmp_path, url):
    source = StudySource(url)  # holds no paper_* study; they are in files beside it
    assert sweep_storages(url, "paper_sr") == [url, sqlite_url(tmp_path / "paper_sr.db")]
    assert sweep_storages("postgresql://h/db", "paper_sr") == ["postgresql://h/db"]
    _, children, _, shown = show(source, "/sweeps")
    assert {"paper_sr-missing", "paper_pct-missing"} <= set(component_ids(children))
    with pytest.raises(PreventUpdate):  # a tick does not read them again
        show(source, "/sweeps", shown, triggered=ids.INTERVAL)
    _sr_study(sqlite_url(tmp_path / "paper_sr.db"))  # made while the app is up
    _, children, _, _ = show(source, "/sweeps", shown)
    now = set(component_ids(children))
    assert "paper_sr-graph" in now and "paper_sr-missing" not in now
    assert "paper_pct-missing" in now


# ---------------------------------------------------------------------------- the shell


def test_the_app_serves_every_page_in_one_shell(url):
    app = create_app(url)
    page = app.layout()
    found = component_ids(page)
    assert {routes.ids.URL, routes.ids.SEARCH_PAGE, routes.ids.PAGE, ids.PARETO} <= set(found)
    assert found[ids.STUDIES].value == ["micro"]  # the first search, never a fidelity study
    served = json.dumps(page, cls=plotly.utils.PlotlyJSONEncoder)
    for path in ("/search", "/fidelity", "/sweeps"):
        assert f'"href": "{path}"' in served  # the links of the header
    client = app.server.test_client()
    for path in ("/", "/fidelity/fid", "/sweeps", "/anything"):
        assert client.get(path).status_code == 200  # the browser's path is routed in the page


def test_axes_follow_the_studies_shown(url, tmp_path):
    source = StudySource(url)
    versions = {"micro": source.version("micro")}
    x_options, x, y_options, y = callbacks.axis_choices(
        source, versions, "compressed_bytes", "top1_compressed", [], []
    )
    assert "compressed_bytes" not in [o["value"] for o in x_options]
    assert [o["value"] for o in y_options] == ["top1", "top5"]
    assert (x, y) == ("params", "top5")  # the study's own objectives
    same = callbacks.axis_choices(source, versions, "params", "top5", x_options, y_options)
    assert same == (no_update, no_update, no_update, no_update)


def test_layout_holds_every_component_the_callbacks_use():
    page = layout.build_layout(
        storage="sqlite:///x.db", studies=["a", "b"], selected=["a"], x="params", y="top5"
    )
    found = set()

    def walk(node):
        if getattr(node, "id", None):
            found.add(node.id)
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                walk(child)

    walk(page)
    wanted = {v for k, v in vars(layout.ids).items() if k.isupper()}
    in_detail_panel = {
        layout.ids.LAYERS,
        layout.ids.CURVE,
        layout.ids.COMMAND,
        layout.ids.RUNGS,
        layout.ids.COMPRESSION,
        layout.ids.COMPRESSION_LAYERS,
        layout.ids.RETRAINED,
    }
    assert wanted - found == in_detail_panel


# ---------------------------------------------------------------------------- in Chromium


def test_picking_a_fidelity_study_in_chromium_opens_its_page(url, tmp_path):
    import sys

    from selenium.webdriver.common.by import By

    from tests.dashboard.browser import chromium, free_port, require_chromium, serving, wait

    require_chromium()
    port = free_port()
    command = [sys.executable, "-m", "sqzdse", "dashboard", "--storage", url, "--port", str(port)]
    with serving(command, f"http://127.0.0.1:{port}/") as page, chromium(page, tmp_path) as d:
        wait(d, lambda d: d.find_elements(By.ID, ids.STUDIES), "no study picker")
        d.find_element(By.ID, ids.STUDIES).click()
        option = wait(
            d,
            lambda d: d.find_elements(
                By.XPATH,
                "//label[contains(@class, 'dash-dropdown-option')][.//input[@value='fid']]",
            ),
            "the picker offers no fidelity study",
        )[0]
        assert option.text == "fid (fidelity study: opens its page)"
        option.click()
        wait(
            d,
            lambda d: d.execute_script("return window.location.pathname") == "/fidelity/fid",
            "picking the fidelity study did not open its page",
        )
        message = wait(d, lambda d: d.find_elements(By.ID, "fidelity-error"), "no fidelity page")
        assert message[0].text == "The study holds no fidelity plan yet."
        assert not d.find_element(By.ID, routes.ids.SEARCH_PAGE).is_displayed()
        d.find_element(By.LINK_TEXT, "Search").click()  # back, without a reload
        wait(
            d,
            lambda d: d.find_element(By.ID, routes.ids.SEARCH_PAGE).is_displayed(),
            "the Search link did not show the search page",
        )
        assert d.execute_script("return window.location.pathname") == "/search"
        picked = d.find_element(By.ID, ids.STUDIES).text
        assert "micro" in picked and "fid" not in picked  # it left the picker
        severe = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == [], severe
