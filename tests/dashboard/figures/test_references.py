"""SqueezeNet v1.0 / v1.1 in the main view (`figures.references`): a star where a study trained
the network, else a size-only line at its exact cost, whose label sits apart from the points."""

from __future__ import annotations

import pytest

from sqzdse.arch import preset
from sqzdse.dashboard import figures
from sqzdse.dashboard.figures.references import LABEL_ROW, label_band
from tests.dashboard.figures.conftest import PARAMS, TOP5
from tests.dashboard.figures.hand import HAND, study

# ---------------------------------------------------------------------------- SqueezeNet references


def test_reference_without_a_trained_preset_is_a_size_only_line():
    info = figures.pareto_info([study()], x="params", y="top1")
    v10 = 740_554  # v1.0 at 10 classes: Table 1's 1,248,424 - 513,000 + 10 * (512 + 1)
    refs = {r.preset: r for r in info.references}
    assert refs["v1.0"].x == v10 and refs["v1.0"].trial is None and refs["v1.0"].y is None
    fig = figures.pareto_figure(info)
    lines = [t for t in fig.data if (t.meta or {}).get("role") == "reference"]
    assert {t.meta["preset"] for t in lines} == {"v1.0", "v1.1"}
    (line,) = [t for t in lines if t.meta["preset"] == "v1.0"]
    assert list(line.x) == [v10, v10] and "accuracy not measured" in line.name
    assert any(
        "v1.0 has 740,554 parameters" in s and "unknown" in s for s in figures.summary_lines(info)
    )


def test_a_trained_preset_is_marked_with_its_measured_accuracy():
    v11 = preset("v1.1", num_classes=10, resolution=32, dropout=0.2)  # dropout: training only
    rows = [*HAND, dict(params=727_626, top1=0.77, top5=0.9)]  # v1.1's 1,235,496 at 10 classes
    archs = {len(HAND): v11.to_dict()}
    info = figures.pareto_info([study(rows, archs=archs)], x="params", y="top1")
    refs = {r.preset: r for r in info.references}
    assert refs["v1.1"].trial == len(HAND) and refs["v1.1"].y == 0.77
    assert refs["v1.0"].trial is None
    fig = figures.pareto_figure(info)
    (star,) = [
        t
        for t in fig.data
        if (t.meta or {}).get("role") == "reference" and t.meta["preset"] == "v1.1"
    ]
    assert star.marker.symbol == "star" and list(star.y) == [0.77]


def test_reference_in_macs_uses_the_study_resolution_and_needs_it():
    info = figures.pareto_info([study()], x="macs", y="top1")
    # v1.0 and v1.1 at 10 classes and 32x32, Conv2d MACs counted by forward hooks on the built
    # networks (at 224x224 they are torchvision's 0.82 G and 0.35 G)
    assert {r.x for r in info.references} == {9_148_448, 2_995_904}
    unknown = figures.pareto_info([study(resolution=None)], x="macs", y="top1")
    assert unknown.references == () and "resolution" in unknown.notes[0]
    no_classes = figures.pareto_info([study(num_classes=None)], x="params", y="top1")
    assert no_classes.references == () and "classes" in no_classes.notes[0]


def test_a_measured_axis_has_no_reference_networks_and_says_why():
    references, notes = figures.reference_info([study()], x="latency_ms", y="top1")
    assert references == ()
    assert notes == (
        "hand: no SqueezeNet reference for latency in ms (batch 1, CPU): it is measured on the "
        "search's machine, not known from the architecture",
    )


# ---------------------------------------------------------------------------- size-only labels

V10, V11 = 740_554, 727_626  # parameters at 10 classes


def size_only_labels(fig) -> list:
    return [a for a in fig.layout.annotations if (a.name or "").startswith("size only")]


def test_the_size_only_lines_of_a_factory_study(factory):
    info = figures.pareto_info([factory], x="params", y="top5")
    assert {(r.preset, r.x, r.trial) for r in info.references} == {
        ("v1.0", V10, None),
        ("v1.1", V11, None),
    }
    fig = figures.pareto_figure(info)
    lines = {t.meta["preset"]: t for t in fig.data if (t.meta or {}).get("role") == "reference"}
    assert list(lines["v1.0"].x) == [V10, V10] and list(lines["v1.1"].x) == [V11, V11]
    assert lines["v1.0"].mode == "lines" and not lines["v1.0"].text  # the label is apart
    assert [a.text for a in size_only_labels(fig)] == [
        "SqueezeNet v1.1, size only",  # by x: v1.1 has fewer parameters
        "SqueezeNet v1.0, size only",
    ]


def test_size_only_labels_sit_above_every_point_one_row_each(factory):
    fig = figures.pareto_figure(figures.pareto_info([factory], x="params", y="top5"))
    labels = size_only_labels(fig)
    bottom, top = fig.layout.yaxis.range
    highest = max(TOP5.values())
    points_top = (highest - bottom) / (top - bottom)  # the highest point, as a plot fraction
    assert min(TOP5.values()) > bottom  # no point below the range
    rows = sorted((a.y for a in labels), reverse=True)
    assert rows[0] == 1.0 and rows[0] - rows[1] == pytest.approx(LABEL_ROW)
    for label in labels:
        assert label.yref == "paper" and label.yanchor == "top" and not label.showarrow
        assert label.y - LABEL_ROW >= points_top  # a whole row (twice the text) above the points
    # Each line reaches its label's row.
    for trace in fig.data:
        if (trace.meta or {}).get("role") == "reference":
            assert trace.y[1] == top


def test_size_only_labels_face_the_middle_of_the_plot(factory):
    fig = figures.pareto_figure(figures.pareto_info([factory], x="params", y="top5"))
    # Points from 48,858 to 2,882,058 parameters: the lines (~7.3e5) are right of the middle in
    # log scale (~3.75e5), so their labels extend to the left of them.
    labels = size_only_labels(fig)
    assert {a.xanchor for a in labels} == {"right"} and {a.xshift for a in labels} == {-4}
    assert sorted(10**a.x for a in labels) == pytest.approx([V11, V10])
    assert min(PARAMS.values()) < 10 ** ((5.0 + 6.0) / 2) < V11  # what "the middle" is here
    small = figures.pareto_info([study([dict(params=2_000_000, top1=0.8)])], x="params", y="top1")
    (line,) = [a for a in size_only_labels(figures.pareto_figure(small)) if "v1.0" in a.text]
    assert line.xanchor == "left"  # left of the middle: the label extends to the right


def test_label_band_by_hand():
    band = label_band(0.5, 0.9, 2)
    total = 0.4 / (1 - 0.04 - 2 * LABEL_ROW - 0.02)
    assert band.y_range == pytest.approx((0.5 - 0.04 * total, 0.5 - 0.04 * total + total))
    assert band.points_top == pytest.approx(1 - 2 * LABEL_ROW - 0.02)
    assert [band.row_y(r) for r in range(2)] == [1.0, 1.0 - LABEL_ROW]
    flat = label_band(0.7, 0.7, 1)  # a single accuracy: a span is made up around it
    assert flat.y_range[0] < 0.7 < flat.y_range[1]


def test_no_labels_and_no_fixed_range_without_size_only_lines(factory):
    fig = figures.pareto_figure(figures.pareto_info([factory], x="latency_ms", y="top5"))
    assert size_only_labels(fig) == [] and fig.layout.yaxis.range is None
