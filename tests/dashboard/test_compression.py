"""Deep Compression in the dashboard, on a study written as the search writes it (TrialRecord into a
real SQLite file) and read through a StudySource: the compressed size as an x axis (trials without
it not drawn, no SqueezeNet reference, and a note saying why), and the drill-down's compression
section (settings, totals, the bytes of each layer), shown only for a compressed trial."""

from __future__ import annotations

import dataclasses

import optuna
import pytest
import torch
from optuna.trial import TrialState

from sqzdse.compression import CompressionReport, LayerReport, Settings
from sqzdse.compression.pipeline import compress, layer_names
from sqzdse.dashboard import callbacks, details, figures, layout
from sqzdse.dashboard.details import CompressedLayer
from sqzdse.dashboard.layout import ids
from sqzdse.dashboard.source import StudySource
from sqzdse.model import build_model
from sqzdse.records import Epoch, Status, TrialRecord, analytic_metrics
from sqzdse.testing import add_trial, create_study, small_arch, sqlite_url
from sqzdse.weights import Weights

pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table.DataTable will be removed:DeprecationWarning"
)

A, B, C = small_arch(), small_arch(sr=0.5), small_arch(base_e=32, incr_e=32)
PARAMS = {"A": 727_626, "B": 2_882_058, "C": 48_858}  # counted on the built networks
X = "compressed_bytes"
X_LABEL = "compressed size in bytes (Deep Compression)"

# Three layers of a report, by hand. Estimate: ceil(entries x (bits + gap bits) / 8) bytes, the 63
# shared values and the bias at 4 bytes each; entries = nonzero + fillers.
LAYERS = [
    # 572 x 10 = 5,720 bits = 715 B; + 252 + 256 = 1,223
    LayerReport("conv1", 1_728, 570, 6, 4, 63, 2, 64, 1_223, 1_100),
    # 305 x 9 = 2,745 bits = 344 B; + 252 + 64 = 660
    LayerReport("fire2.squeeze", 1_024, 300, 6, 3, 63, 5, 16, 660, 650),
    # 1,690 x 11 = 18,590 bits = 2,324 B; + 252 + 40 = 2,616
    LayerReport("conv10", 5_120, 1_690, 6, 5, 63, 0, 10, 2_616, 2_400),
]
REPORT = CompressionReport(
    settings=Settings(density=0.33, bits=6, finetune_epochs=3),
    layers=LAYERS,
    header_bytes=900,
    file_bytes=900 + 1_100 + 650 + 2_400,  # 5,050
    dense_bytes=4 * (1_728 + 64 + 1_024 + 16 + 5_120 + 10),  # 31,848: ratio 6.3065
    top1_before=0.70,
    top5_before=0.90,
    top1_after=0.685,
    top5_after=0.8975,
    seconds=41.3,
    loss=[{"phase": "pruned", "epoch": 1, "loss": 0.9}],
)
# Trial 1's network is 15 times smaller than trial 0's, but compresses worse: 6,000 bytes.
SMALL_BUT_WORSE = dataclasses.replace(REPORT, file_bytes=6_000, top1_after=0.55, top5_after=0.84)
COMPRESSION_FAILED = "compression failed: RuntimeError: out of memory"

SETTINGS = "density 33% · 6 bits per weight · 3 fine-tune epochs per phase"
TOTALS = (
    ("compressed file", "5,050 bytes"),
    ("of which header", "900 bytes"),
    ("fixed-width estimate (layers, no Huffman)", "4,499 bytes"),  # 1,223 + 660 + 2,616
    ("32-bit weights", "31,848 bytes"),
    ("ratio vs 32-bit", "6.3× smaller"),
    ("top-1 before → after", "70.00% → 68.50%"),
    ("top-5 before → after", "90.00% → 89.75%"),
    ("compression time", "41.3 s"),
)
LAYER_ROWS = [
    ["conv1", "1,728", "570", "33.0%", "6", "4", "2", "1,223", "1,100"],
    ["fire2.squeeze", "1,024", "300", "29.3%", "6", "3", "5", "660", "650"],
    ["conv10", "5,120", "1,690", "33.0%", "6", "5", "0", "2,616", "2,400"],
    # 2,560 / 7,872 = 32.5%; the layers' file bytes and the header make the file: 4,150 + 900
    ["total", "7,872", "2,560", "32.5%", "", "", "7", "4,499", "4,150"],
]


def compressed(arch, report: CompressionReport, *, top1: float, top5: float) -> TrialRecord:
    """A trial trained and compressed as the search records it (`Objective._compress`)."""
    metrics = {
        **analytic_metrics(arch),
        "top1": top1,
        "top5": top5,
        "train_seconds": 30.0,
        X: report.file_bytes,
        "top1_compressed": report.top1_after,
        "top5_compressed": report.top5_after,
    }
    return TrialRecord(
        arch=arch,
        status=Status.OK,
        metrics=metrics,
        curve=(Epoch(epoch=1, train_loss=0.5, top1=top1, top5=top5, seconds=30.0),),
        compression=report.to_dict(),
    )


def add_record(study: optuna.Study, record: TrialRecord, state=TrialState.COMPLETE) -> int:
    """Store `record` as the search does, with the study's objective values (top5, params) when
    COMPLETE."""
    values = [record.metrics["top5"], record.metrics["params"]]
    study.add_trial(
        optuna.trial.create_trial(
            state=state,
            values=values if state == TrialState.COMPLETE else None,
            user_attrs=record.user_attrs(),
        )
    )
    return len(study.get_trials(deepcopy=False)) - 1


@pytest.fixture
def url(tmp_path) -> str:
    """Trials (objectives top-5 up, params down):
    0 ok, network A, top-5 0.9, compressed to 5,050 bytes (REPORT);
    1 ok, network C (the smallest), top-5 0.85, compressed to 6,000 bytes;
    2 ok, network B, top-5 0.95, never compressed (no compressed metrics, no report);
    3 stopped at a rung: never compressed;
    4 failed: trained (top-5 0.8), but compressing it failed;
    5 reused trial 0's result, its compression included."""
    url = sqlite_url(tmp_path / "s.db")
    study = create_study(url, study_name="s")
    first = compressed(A, REPORT, top1=0.7, top5=0.9)
    add_record(study, first)
    add_record(study, compressed(C, SMALL_BUT_WORSE, top1=0.6, top5=0.85))
    add_trial(study, arch=B, top1=0.75, top5=0.95)
    add_trial(study, arch=C, status="stopped", top1=0.5, top5=0.8)
    failed = compressed(A, REPORT, top1=0.6, top5=0.8)
    failed = failed.replace(
        status=Status.FAILED,
        failure_reason=COMPRESSION_FAILED,
        compression=None,
        metrics={
            k: v for k, v in failed.metrics.items() if not k.endswith("compressed") and k != X
        },
    )
    add_record(study, failed, state=TrialState.FAIL)
    add_record(
        study, TrialRecord(arch=A, metrics=analytic_metrics(A)).reusing(first.replace(number=0))
    )
    return url


def test_the_study_is_what_the_fixture_says(url):
    data = StudySource(url).load("s")
    assert {k: analytic_metrics(v)["params"] for k, v in zip("ABC", (A, B, C))} == PARAMS
    assert data.frame["status"].tolist() == ["ok", "ok", "ok", "stopped", "failed", "reused"]
    assert data.frame[X].tolist()[:2] == [5_050, 6_000]
    assert data.frame[X].isna().tolist() == [False, False, True, True, True, False]
    assert data.records[5].compression == REPORT.to_dict()  # the reused trial's copy
    assert data.records[2].compression is None


# ---------------------------------------------------------------------------- the x axis


def test_compressed_size_is_an_x_axis_and_trials_without_it_are_not_drawn(url):
    assert figures.X_METRICS[X] == X_LABEL
    data = StudySource(url).load("s")
    info = figures.pareto_info([data], x=X, y="top5")
    points = info.points.sort_values("number")
    assert points["number"].tolist() == [0, 1, 5]  # never trial 2: it was not compressed
    assert points["x"].tolist() == [5_050, 6_000, 5_050]  # the file's bytes, not the params
    # Trial 1 is the smallest network but the larger file: off this front, on the params one.
    assert sorted(info.fronts["s"]["number"]) == [0, 5]
    by_params = figures.pareto_info([data], x="params", y="top5")
    assert sorted(by_params.fronts["s"]["number"]) == [0, 1, 2, 5]
    assert info.stopped.empty  # the stopped trial has a curve but was never compressed
    assert dict(info.left_out["s"]) == {
        "failed": 1,
        f"stopped without {X}": 1,
        f"without {X}": 1,
    }
    hover = points["hover"].iloc[0]
    assert f"{X_LABEL} 5,050 · top-5 accuracy 90.00%" in hover

    fig = figures.pareto_figure(info)
    assert fig.layout.xaxis.title.text == f"{X_LABEL} (log scale)"
    drawn = [
        int(c[1]) for t in fig.data if (t.meta or {}).get("role") == "trials" for c in t.customdata
    ]
    assert sorted(drawn) == [0, 1, 5]
    assert not [t for t in fig.data if (t.meta or {}).get("role") in ("reference", "stopped")]
    assert figures.summary_lines(info) == [
        f"s: 6 trials, 3 plotted, 2 on the Pareto front of top-5 accuracy vs {X_LABEL}; "
        f"not plotted: 1 failed, 1 stopped without {X}, 1 without {X}.",
        f"s: no SqueezeNet reference for {X_LABEL}: it is measured by compressing each trial's "
        "trained weights, not known from the architecture",
    ]


def test_compressed_accuracy_is_a_y_axis(url):
    info = figures.pareto_info([StudySource(url).load("s")], x=X, y="top1_compressed")
    points = info.points.sort_values("number")
    assert points[["number", "y"]].values.tolist() == [[0, 0.685], [1, 0.55], [5, 0.685]]
    # The stopped trial's curve records no accuracy after compression.
    assert info.left_out["s"]["stopped, no top1_compressed on its curve"] == 1


def test_the_other_views_take_compressed_size_as_x(url):
    data = StudySource(url).load("s")
    assert figures.default_axes([("top5", "maximize"), (X, "minimize")]) == (X, "top5")
    hypervolume = figures.hypervolume_info([data], x=X, y="top5")
    assert hypervolume.reference == (0.0, pytest.approx(1.1 * 6_000))
    assert hypervolume.series["s"]["hypervolume"].iloc[-1] == pytest.approx(
        0.9 * (6_600 - 5_050)
    )  # trial 1 (6,000 bytes, 0.85) adds nothing
    parallel = figures.parallel_info(data, x=X, y="top5")
    assert parallel.dimensions[-2] == {"label": X, "values": pytest.approx([5_050, 6_000, 5_050])}
    rows = figures.trial_table_rows([data], x=X, y="top5")
    assert [r[X] for r in rows] == [5_050, 6_000, None, None, None, 5_050]
    assert [r["front"] for r in rows] == ["yes", "", "", "", "", "yes"]


def test_a_study_never_compressed_says_why_nothing_is_drawn(tmp_path):
    url = sqlite_url(tmp_path / "old.db")
    study = create_study(url, study_name="old")
    add_trial(study, arch=A, top1=0.7, top5=0.9)
    info = figures.pareto_info([StudySource(url).load("old")], x=X, y="top1_compressed")
    assert info.is_empty and dict(info.left_out["old"]) == {"without top1_compressed": 1}
    assert figures.empty_message(info) == (
        f"No finished trial has both top-1 accuracy after compression and {X_LABEL} yet; see "
        "the trial table below. Compressed sizes and accuracies are measured only by a search "
        "whose space has a `compression` section."
    )
    assert info.notes[0] == (
        f"old: no trial records {X_LABEL} or top-1 accuracy after compression. Compressed sizes "
        "and accuracies are measured only by a search whose space has a `compression` section."
    )
    plain = figures.pareto_info([StudySource(url).load("old")], x="params", y="top1")
    assert "Compressed" not in figures.empty_message(plain) and not any(
        "compression" in n for n in plain.notes
    )


# ---------------------------------------------------------------------------- the drill-down


def texts(row) -> list[str]:
    return [cell.children for cell in row.children]


def section(panel) -> list:
    return [c for c in panel if getattr(c, "id", None) == ids.COMPRESSION]


def test_detail_of_a_compressed_trial_shows_its_settings_totals_and_layers(url):
    source = StudySource(url)
    data = source.load("s")
    detail = details.trial_detail(data, 0)
    assert details.trial_compression(data, 0) == details.CompressionDetail(
        settings=SETTINGS,
        totals=TOTALS,
        layers=tuple(CompressedLayer(*row) for row in LAYER_ROWS),
    )
    metrics = dict(detail.metrics)
    assert metrics[X_LABEL] == "5,050"
    assert metrics["top-1 accuracy after compression"] == "68.50%"
    assert metrics["top-5 accuracy after compression"] == "89.75%"

    panel = callbacks.detail(source, {"study": "s", "number": 0}, None)
    (div,) = section(panel)
    title, settings, totals, wrapper = div.children
    assert title.children.startswith("Deep Compression")
    assert settings.children == SETTINGS
    assert [tuple(texts(row)) for row in totals.children] == list(TOTALS)
    table = wrapper.children
    assert table.id == ids.COMPRESSION_LAYERS
    header, *rows = table.children
    assert [cell.children for cell in header.children] == [
        "layer",
        "weights",
        "nonzero",
        "density",
        "bits",
        "gap bits",
        "fillers",
        "estimate B",
        "file B",
    ]
    assert [texts(row) for row in rows] == LAYER_ROWS
    assert rows[-1].children[0].style["fontWeight"] == "600"  # the total stands out
    assert "fontWeight" not in rows[0].children[0].style
    # After the rungs (none here) and before the analytic layer table.
    order = [getattr(c, "id", None) for c in panel]
    assert order.index(ids.CURVE) < order.index(ids.COMPRESSION) < order.index(ids.LAYERS)


def test_a_reused_trial_shows_the_compression_it_reused(url):
    source = StudySource(url)
    data = source.load("s")
    detail = details.trial_detail(data, 5)
    assert details.trial_compression(data, 5).totals == TOTALS
    assert "reused from trial #0" in details.status_line(detail)
    assert section(callbacks.detail(source, {"study": "s", "number": 5}, None))


@pytest.mark.parametrize("number", [2, 3, 4])
def test_no_compression_section_for_a_trial_without_a_report(url, number):
    source = StudySource(url)
    data = source.load("s")
    detail = details.trial_detail(data, number)
    assert details.trial_compression(data, number) is None
    assert not any(label.endswith("after compression") for label, _ in detail.metrics)
    panel = callbacks.detail(source, {"study": "s", "number": number}, None)
    assert section(panel) == []
    assert [getattr(c, "id", None) for c in panel].count(ids.LAYERS) == 1  # the rest is there
    if number == 4:
        assert COMPRESSION_FAILED in details.status_line(detail)


def test_a_malformed_report_shows_what_it_can():
    assert details.compression_detail(None) is None
    assert details.compression_detail(["not", "a", "report"]) is None
    shown = details.compression_detail(
        {
            "settings": {"density": 0.5, "bits": "six", "finetune_epochs": 1},
            "compressed_bytes": 1_000,
            "dense_bytes": 4_000,
            "ratio": float("nan"),  # computed again from the bytes
            "top1_before": 0.5,
            "top1_after": None,
            "layers": [{"name": "conv1", "weights": 10, "nonzero": 5, "bits": True}, "junk"],
        }
    )
    assert shown.settings == "density 50% · bits n/a · 1 fine-tune epoch per phase"
    assert dict(shown.totals) == {
        "compressed file": "1,000 bytes",
        "of which header": "n/a",
        "fixed-width estimate (layers, no Huffman)": "n/a",
        "32-bit weights": "4,000 bytes",
        "ratio vs 32-bit": "4.0× smaller",
        "top-1 before → after": "50.00% → n/a",
        "top-5 before → after": "n/a → n/a",
        "compression time": "n/a",
    }
    assert shown.layers == (
        CompressedLayer("conv1", "10", "5", "50.0%", "n/a", "n/a", "n/a", "n/a", "n/a"),
        CompressedLayer("total", "10", "5", "50.0%", "", "", "n/a", "n/a", "n/a"),
    )
    empty = details.compression_detail({})
    assert empty.layers == () and empty.settings == (
        "density n/a · bits n/a · fine-tune epochs n/a"
    )
    (div,) = section(layout.detail_panel(DETAIL, compression=empty))
    assert section(layout.detail_panel(DETAIL)) == []
    assert len(div.children) == 3  # no layer table without layers


DETAIL = details.TrialDetail(
    study="s",
    number=0,
    state="COMPLETE",
    status="ok",
    failure_reason=None,
    reused_from=None,
    metrics=(),
    layers=(),
    command=None,
    command_notes=(),
    curve=(),
)


def test_a_real_report_adds_up_in_the_drill_down():
    """`compress` (sizes only: no data, no fine-tuning) of a real network, read back from JSON as a
    trial stores it: one row per convolution, and the rows and the header make the file."""
    torch.manual_seed(0)
    weights = Weights.of(build_model(C), C, mean=(0.5,) * 3, std=(0.25,) * 3)
    report = compress(weights, None, Settings(0.33, 6, 0), None).report
    shown = details.compression_detail(report.to_dict())
    names = [layer.name for layer in shown.layers]
    assert names == [*layer_names(weights.model()).values(), "total"]
    assert names[:4] == ["conv1", "fire2.squeeze", "fire2.expand1x1", "fire2.expand3x3"]
    totals = dict(shown.totals)
    assert totals["compressed file"] == f"{report.file_bytes:,} bytes"
    assert totals["top-1 before → after"] == "n/a → n/a"
    assert shown.settings == "density 33% · 6 bits per weight · no fine-tuning"

    def number(text: str) -> int:
        return int(text.removesuffix(" bytes").replace(",", ""))

    total = shown.layers[-1]
    assert number(total.file_bytes) + number(totals["of which header"]) == report.file_bytes
    assert number(total.estimate_bytes) == number(
        totals["fixed-width estimate (layers, no Huffman)"]
    )
    assert number(total.weights) == sum(
        weights.state[key].numel() for key in layer_names(weights.model())
    )
    assert 0.32 < number(total.nonzero) / number(total.weights) < 0.34
