"""The dashboard's figures, details and callback helpers as pure functions, on hand-made trials."""

from __future__ import annotations

import itertools
import random
import shlex

import pandas as pd
import pytest

from sqzdse import analysis
from sqzdse.arch import ArchConfig, preset
from sqzdse.cli.count import count_report
from sqzdse.dashboard import callbacks, details, figures, layout
from sqzdse.dashboard.study_data import StudyData
from sqzdse.records import Epoch, TrialRecord
from sqzdse.testing import small_arch

# ---------------------------------------------------------------------------- hand-made trials

# DataTable is the table this project chose (dash-ag-grid would be a new dependency).
pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table.DataTable will be removed:DeprecationWarning"
)

DESIGN = {
    "base_e": 128,
    "incr_e": 128,
    "pct_3x3": 0.5,
    "freq": 2,
    "sr": 0.125,
    "num_modules": 8,
    "pool_after": "conv1,fire3,fire5",
    "bypass": "none",
    "num_classes": 10,
    "resolution": 32,
}


def trials_frame(rows: list[dict]) -> pd.DataFrame:
    """A frame with analysis.TRIAL_COLUMNS and their dtypes: numbers from 0, COMPLETE and ok unless
    a row says otherwise, the DESIGN architecture, and the metrics each row gives."""
    filled = []
    for number, row in enumerate(rows):
        base = {name: None for name in analysis.COLUMN_NAMES}
        base.update(DESIGN, number=number, state="COMPLETE", status="ok", pareto=False)
        base.update(row)
        if base["params"] is not None:
            base.update(size_bytes_32bit=4 * base["params"], size_bytes_8bit=base["params"])
            if base["flash_bytes"] is None:  # made up: weights, biases and scales of 8 channels
                base["flash_bytes"] = base["params"] + 7 * 8
            if base["peak_sram_bytes"] is None and base["macs"] is not None:
                base["peak_sram_bytes"] = base["macs"] // 10  # made up: follows the MACs
            base.setdefault("latency_ms", None)
            if base["latency_ms"] is None and base["macs"] is not None:
                base["latency_ms"] = base["macs"] / 100  # made up: follows the MACs
        for name in ("top1", "top5"):  # made up: retraining adds a little accuracy (less on test)
            if base.get(f"retrained_{name}") is None and base[name] is not None:
                base[f"retrained_{name}"] = min(1.0, base[name] + 0.01)
            if base.get(f"retrained_test_{name}") is None and base[name] is not None:
                base[f"retrained_test_{name}"] = min(1.0, base[name] + 0.005)
        # made up: a finished network compresses to a tenth of its 8-bit size, losing 2 points
        if base["state"] == "COMPLETE" and base["params"] is not None:
            if base["compressed_bytes"] is None:
                base["compressed_bytes"] = base["params"] // 10
            for name in ("top1", "top5"):
                if base[f"{name}_compressed"] is None and base[name] is not None:
                    base[f"{name}_compressed"] = base[name] - 0.02
        # made up: its int8 file is a third of its 32-bit size, twice as slow, a point less
        if base["state"] == "COMPLETE" and base["params"] is not None:
            if base["int8_bytes"] is None:
                base["int8_bytes"] = base["params"] * 4 // 3
            if base["latency_int8_ms"] is None and base["macs"] is not None:
                base["latency_int8_ms"] = base["macs"] / 50
            for name in ("top1", "top5"):
                if base[f"{name}_int8"] is None and base[name] is not None:
                    base[f"{name}_int8"] = base[name] - 0.01
        filled.append(base)
    df = pd.DataFrame(filled, columns=list(analysis.COLUMN_NAMES))
    return pd.DataFrame({c.name: df[c.name].astype(c.dtype) for c in analysis.TRIAL_COLUMNS})


# number: (params, macs, top1, top5, state, status), worked out by hand below.
HAND = [
    dict(params=100, macs=1000, top1=0.50, top5=0.80),  # 0
    dict(params=200, macs=500, top1=0.70, top5=0.90),  # 1
    dict(params=200, macs=500, top1=0.70, top5=0.90, status="reused"),  # 2 identical to 1
    dict(params=200, macs=400, top1=0.65, top5=0.95),  # 3 same params as 1, worse top1
    dict(params=300, macs=900, top1=0.70, top5=0.96),  # 4 same top1 as 1, more params
    dict(params=400, macs=2000, top1=0.90, top5=0.97, bypass="simple"),  # 5
    dict(
        params=50,
        macs=50,
        top1=0.99,
        top5=0.99,
        state="FAIL",
        status="failed",
        failure_reason="loss is nan",
    ),  # 6 would dominate all
    dict(
        params=60, macs=60, state="PRUNED", status="infeasible", failure_reason="params over budget"
    ),  # 7 never trained
    dict(params=150, macs=150, top1=0.95, top5=0.99, state="PRUNED"),  # 8 pruned with a value
    dict(params=120, macs=120, state="RUNNING", status=None),  # 9 running
    dict(params=110, macs=110, top5=0.85),  # 10 COMPLETE without top1
    dict(params=500, macs=300, top1=0.90, top5=0.99, bypass="complex"),  # 11
]
FRONTS = {  # (x, y) -> trial numbers on the front, by hand
    ("params", "top1"): [0, 1, 2, 5],  # 3 loses to 1 (same x), 4 to 1 (same y), 11 to 5 (same y)
    ("params", "top5"): [0, 3, 4, 5, 10, 11],  # 3 beats 1 and 2 at the same params; 10 counts
    ("macs", "top1"): [11],  # 300 MACs at top-1 0.90 beats everything that is eligible
}
PLOTTED = {"top1": [0, 1, 2, 3, 4, 5, 11], "top5": [0, 1, 2, 3, 4, 5, 10, 11]}


def study(
    rows=HAND,
    *,
    name: str = "hand",
    archs=None,
    num_classes: int | None = 10,
    resolution: int | None = 32,
    training=None,
    dataset="digits",
) -> StudyData:
    records = {
        n: TrialRecord(arch=ArchConfig.from_dict(a), number=n) for n, a in (archs or {}).items()
    }
    return StudyData(
        name=name,
        frame=trials_frame(rows),
        objectives=(("top1", "maximize"), ("params", "minimize")),
        num_classes=num_classes,
        resolution=resolution,
        dataset=dataset,
        training=training or {},
        records=records,
    )


def trace_numbers(fig, role: str) -> list[int]:
    return [
        int(c[1])
        for t in fig.data
        if (t.meta or {}).get("role") == role
        for c in (t.customdata if t.customdata is not None else [])
    ]


# ---------------------------------------------------------------------------- the Pareto front


@pytest.mark.parametrize(("x", "y"), list(FRONTS))
def test_front_membership_by_hand(x, y):
    info = figures.pareto_info([study()], x=x, y=y)
    on_front = sorted(info.points.loc[info.points["on_front"], "number"])
    assert on_front == FRONTS[x, y]
    assert sorted(info.points["number"]) == PLOTTED[y]
    front = info.fronts["hand"]
    assert list(front["x"]) == sorted(front["x"])  # drawn left to right, as a staircase


def test_failed_pruned_and_running_trials_are_counted_not_drawn():
    info = figures.pareto_info([study()], x="params", y="top1")
    assert dict(info.left_out["hand"]) == {
        "failed": 1,
        "infeasible (not trained)": 1,
        "pruned": 1,
        "running": 1,
        "without top1": 1,
    }
    fig = figures.pareto_figure(info)
    drawn = set(trace_numbers(fig, "trials")) | set(trace_numbers(fig, "front"))
    assert drawn == set(PLOTTED["top1"])
    assert not drawn & {6, 7, 8, 9, 10}
    line = figures.summary_lines(info)[0]
    assert "12 trials, 7 plotted, 4 on the Pareto front" in line
    assert "1 failed" in line and "1 infeasible (not trained)" in line and "1 running" in line


def brute_force_front(points: list[tuple[float, float] | None]) -> list[int]:
    """Indices of the non-dominated points (y up, x down); None never counts."""

    def dominates(a, b):
        return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])

    return [
        i
        for i, p in enumerate(points)
        if p is not None and not any(q is not None and dominates(q, p) for q in points)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_front_matches_brute_force_on_random_trials_with_ties(seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(60):  # few distinct values, so ties in x, in y and in both are common
        state = rng.choice(["COMPLETE"] * 6 + ["FAIL", "PRUNED", "RUNNING"])
        rows.append(
            dict(
                params=rng.choice([100, 200, 300, 400]),
                top1=rng.choice([0.5, 0.6, 0.7]),
                state=state,
            )
        )
    info = figures.pareto_info([study(rows)], x="params", y="top1")
    points = [(r["params"], r["top1"]) if r["state"] == "COMPLETE" else None for r in rows]
    assert sorted(info.fronts["hand"]["number"]) == brute_force_front(points)


def test_front_trace_is_a_step_line_over_the_front_in_x_order():
    fig = figures.pareto_figure(figures.pareto_info([study()], x="params", y="top1"))
    (front,) = [t for t in fig.data if (t.meta or {}).get("role") == "front"]
    assert front.line.shape == "hv"
    assert [int(c[1]) for c in front.customdata] == [0, 1, 2, 5]
    assert list(front.x) == [100, 200, 200, 400] and list(front.y) == [0.5, 0.7, 0.7, 0.9]
    assert fig.layout.xaxis.type == "log"
    assert front.name == "Pareto front (4)"


def test_switching_axes_redraws_the_front_of_the_metrics_shown():
    for (x, y), expected in FRONTS.items():
        fig = figures.pareto_figure(figures.pareto_info([study()], x=x, y=y))
        assert sorted(trace_numbers(fig, "front")) == expected
        # A hand-made study records no splits: a legacy study, measured on the test images.
        assert fig.layout.yaxis.title.text == (
            f"{figures.Y_METRICS[y]} (validation split, legacy: official test images)"
        )
        assert fig.layout.xaxis.title.text.startswith(figures.X_METRICS[x])


def test_bad_axes_and_colour_are_refused():
    with pytest.raises(ValueError, match="`x` must be one of"):
        figures.pareto_info([study()], x="top1", y="top5")
    with pytest.raises(ValueError, match="`color` must be one of"):
        figures.pareto_info([study()], x="params", y="top5", color="lr")


def test_colour_by_category_and_by_a_continuous_value():
    info = figures.pareto_info([study()], x="params", y="top1", color="bypass")
    fig = figures.pareto_figure(info)
    names = [t.name for t in fig.data if (t.meta or {}).get("role") == "trials"]
    assert names == ["bypass complex", "bypass none", "bypass simple"]
    many = [dict(params=100 + i, top1=0.5, sr=0.01 * (i + 1)) for i in range(20)]
    fig = figures.pareto_figure(
        figures.pareto_info([study(many)], x="params", y="top1", color="sr")
    )
    (trials,) = [t for t in fig.data if (t.meta or {}).get("role") == "trials"]
    assert trials.marker.showscale and len(trials.x) == 20


def test_hover_names_the_configuration():
    info = figures.pareto_info([study()], x="params", y="top1")
    text = info.points.loc[info.points["number"] == 5, "hover"].iloc[0]
    for part in (
        "hand #5",
        "base_e 128",
        "pct_3x3 0.5",
        "sr 0.125",
        "bypass simple",
        "pools after conv1,fire3,fire5",
        "parameters 400",
        "top-1 accuracy 90.00%",
    ):
        assert part in text


def test_several_studies_each_get_their_front_and_symbol():
    other = study([dict(params=100, top1=0.6), dict(params=300, top1=0.55)], name="other")
    info = figures.pareto_info([study(), other], x="params", y="top1", color="study")
    assert sorted(info.fronts["other"]["number"]) == [0]
    assert sorted(info.fronts["hand"]["number"]) == [0, 1, 2, 5]
    fig = figures.pareto_figure(info)
    fronts = [t for t in fig.data if (t.meta or {}).get("role") == "front"]
    assert [t.meta["study"] for t in fronts] == ["hand", "other"]
    assert fronts[0].marker.symbol != fronts[1].marker.symbol
    assert len(figures.summary_lines(info)) >= 2


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


# ---------------------------------------------------------------------------- empty states


def test_empty_study_says_how_to_start_a_search():
    info = figures.pareto_info([study([])], x="params", y="top5")
    assert info.is_empty
    assert "sqzdse search --space micro.yaml" in figures.empty_message(info)
    fig = figures.pareto_figure(info)
    assert "sqzdse search --space micro.yaml" in fig.layout.annotations[0].text
    none = figures.empty_message(figures.pareto_info([], x="params", y="top5"))
    assert "No study selected" in none and "sqzdse search --space micro.yaml" in none


def test_only_failed_trials_say_nothing_finished_yet():
    info = figures.pareto_info([study([HAND[6], HAND[7], HAND[9]])], x="params", y="top1")
    assert info.is_empty and "No finished trial" in figures.empty_message(info)
    assert figures.hypervolume_info([study([HAND[6]])], x="params", y="top1").reference is None


# ---------------------------------------------------------------------------- other views


def test_hypervolume_by_hand_with_a_shared_reference():
    info = figures.hypervolume_info([study()], x="params", y="top1")
    assert info.reference == (0.0, pytest.approx(550.0))  # 1.1 x the largest eligible params
    history = info.series["hand"]
    # Front (100, .5), (200, .7), (400, .9) up to reference x 550:
    # (550-100)*.5 + (550-200)*(.7-.5) + (550-400)*(.9-.7) = 225 + 70 + 30
    assert history["hypervolume"].iloc[-1] == pytest.approx(325.0)
    assert history["hypervolume"].is_monotonic_increasing
    other = study([dict(params=1000, top1=0.5)], name="other")
    shared = figures.hypervolume_info([study(), other], x="params", y="top1")
    assert shared.reference[1] == pytest.approx(1100.0)
    fig = figures.hypervolume_figure(shared)
    assert [t.name for t in fig.data] == ["hand", "other"]


def test_parallel_coordinates_rank_the_eligible_trials():
    info = figures.parallel_info(study(), x="params", y="top1")
    assert len(info.rank) == len(PLOTTED["top1"])
    assert [d["label"] for d in info.dimensions] == [
        "bypass",
        "params",
        "top1",
    ]  # only bypass varies
    ranks = analysis.pareto_rank(study().frame, {"top1": "maximize", "params": "minimize"})
    assert sorted(ranks.index[ranks == 0]) == FRONTS["params", "top1"]
    assert list(info.rank) == list(ranks.dropna().astype(int))
    fig = figures.parallel_figure(info)
    assert fig.data[0].type == "parcoords"


def test_trial_table_lists_every_trial_and_marks_the_front():
    rows = figures.trial_table_rows([study()], x="params", y="top1")
    assert [r["number"] for r in rows] == list(range(len(HAND)))
    assert [r["number"] for r in rows if r["front"] == "yes"] == FRONTS["params", "top1"]
    assert rows[6]["state"] == "FAIL" and rows[6]["failure_reason"] == "loss is nan"
    assert rows[9]["status"] is None and rows[9]["top1"] is None  # no NaN reaches the browser
    assert [figures.parse_row_id(r["id"]) for r in rows[:2]] == [("hand", 0), ("hand", 1)]
    assert figures.parse_row_id("x@y@z") is None and figures.parse_row_id("12@a@b") == ("a@b", 12)


def test_default_axes_follow_the_study_objectives():
    assert figures.default_axes([("top1", "maximize"), ("params", "minimize")]) == (
        "params",
        "top1",
    )
    assert figures.default_axes([("top5", "maximize"), ("macs", "minimize")]) == ("macs", "top5")
    assert figures.default_axes([]) == ("params", "top5")


def test_curve_figure():
    curve = [
        Epoch(epoch=e, train_loss=1.0 / e, top1=0.5 + e / 10, top5=0.8, seconds=1)
        for e in (1, 2, 3)
    ]
    fig = figures.curve_figure(curve)
    assert [t.name for t in fig.data] == ["top-1", "top-5", "training loss"]
    assert list(fig.data[0].y) == [0.6, 0.7, 0.8]
    assert "No learning curve" in figures.curve_figure([]).layout.annotations[0].text


# ---------------------------------------------------------------------------- trial detail


def test_detail_layer_table_is_the_count_report():
    arch = small_arch(sr=0.25, bypass="complex")
    data = study(archs={1: arch.to_dict()})
    detail = details.trial_detail(data, 1)
    assert list(detail.layers) == count_report(arch)["layers"]
    assert [row["name"] for row in detail.layers] == [
        "conv1",
        "maxpool1",
        "fire2",
        "fire2_bypass",
        "fire3",
        "maxpool3",
        "fire4",
        "fire4_bypass",
        "fire5",
        "maxpool5",
        "fire6",
        "fire6_bypass",
        "fire7",
        "fire8",
        "fire8_bypass",
        "fire9",
        "dropout",
        "conv10",
        "avgpool",
    ]  # a 1x1 bypass conv wherever the channels change
    assert ("top-1 accuracy", "70.00%") in detail.metrics
    panel = layout.detail_panel(detail, figures.curve_figure(detail.curve))
    (table,) = [c for c in panel if getattr(c, "id", None) == layout.ids.LAYERS]
    assert table.data[-1]["layer"] == "total"
    assert table.data[-1]["params"] == 1_782_922  # counted on the built network
    assert details.trial_detail(data, 99) is None


def test_detail_of_a_failed_trial_without_architecture():
    detail = details.trial_detail(study(), 6)
    assert detail.state == "FAIL" and detail.failure_reason == "loss is nan"
    assert detail.layers == () and "no architecture" in detail.arch_error
    assert "loss is nan" in details.status_line(detail)


def parse_train(command: str):
    """The ArchConfig and training flags the real `sqzdse train` parses from `command`."""
    from sqzdse.cli.options import pop_arch_flags
    from sqzdse.cli.train import train

    words = shlex.split(command)
    assert words[:2] == ["sqzdse", "train"]
    params = train.make_context("train", words[2:]).params
    return pop_arch_flags(params), params


@pytest.mark.parametrize(
    "arch",
    [
        preset("v1.0", num_classes=10, resolution=32),
        preset("v1.1", num_classes=100, resolution=64, pool_after=(), bypass="simple", sr=0.75),
        preset(
            "v1.0",
            num_classes=10,
            resolution=32,
            base_e=32,
            incr_e=0,
            pct_3x3=0.125,
            freq=3,
            num_modules=5,
            pool_after=("conv1", "fire4"),
        ),
        small_arch(dropout=0.25),
        small_arch(stem_kernel=7, stem_stride=1, stem_padding=3, stem_filters=32),
    ],
    ids=["v1.0", "v1.1-no-pools", "v1.0-5-modules", "custom-stem-dropout", "custom-v1.0-stem"],
)
def test_train_command_rebuilds_the_trial(arch):
    training = {
        "dataset": "digits",
        "epochs": 7,
        "seed": 3,
        "train_per_class": 40,
        "batch_size": None,
        "resolution": arch.resolution,
    }
    command, notes = details.train_command(arch, training=training, dataset="digits")
    rebuilt, params = parse_train(command)
    assert rebuilt == arch
    assert (params["dataset"], params["epochs"], params["seed"], params["train_per_class"]) == (
        "digits",
        7,
        3,
        40,
    )
    assert notes == []


def test_train_command_says_what_it_cannot_carry():
    command, notes = details.train_command(small_arch(in_channels=1), training={}, dataset="digits")
    assert "--dataset digits" in command and "--epochs" not in command
    assert notes == [
        "This network takes 1 input channels and no `sqzdse train` flag sets that: "
        "the data sets all have 3.",
        "The study does not record its training epochs or seed: the command leaves "
        "them at their defaults.",
    ]


# ---------------------------------------------------------------------------- callback helpers


def test_click_and_row_selection_helpers():
    click = {"points": [{"customdata": ["micro", 7], "x": 1, "y": 2}]}
    assert callbacks.clicked_trial(click) == {"study": "micro", "number": 7}
    for bad in (None, {}, {"points": []}, {"points": [{"x": 1}]}):
        assert callbacks.clicked_trial(bad) is None
    assert callbacks.selected_row({"row_id": "3@micro", "row": 0}) == {
        "study": "micro",
        "number": 3,
    }
    assert callbacks.selected_row(None) is None


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


def test_pairs_of_axes_are_all_drawable():
    for x, y in itertools.product(figures.X_METRICS, figures.Y_METRICS):
        fig = figures.pareto_figure(figures.pareto_info([study()], x=x, y=y))
        assert trace_numbers(fig, "front")


def test_the_table_has_the_retrained_accuracy_beside_the_proxys():
    rows = figures.trial_table_rows([study()], x="params", y="top1")
    headers = [c for c, _, _ in figures.TABLE_COLUMNS]
    assert headers.index("retrained_top1") > headers.index("top1")
    assert rows[0]["top1"] == 0.5 and rows[0]["retrained_top1"] == 0.51
    assert "retrained_top1" in figures.Y_METRICS  # and a y axis


def test_a_measured_axis_has_no_reference_networks_and_says_why():
    references, notes = figures.reference_info([study()], x="latency_ms", y="top1")
    assert references == ()
    assert notes == (
        "hand: no SqueezeNet reference for latency in ms (batch 1, CPU): it is measured on the "
        "search's machine, not known from the architecture",
    )


def test_percent_ticks_get_a_decimal_when_the_range_is_narrow():
    assert figures.percent_format([0.97, 0.99, None]) == ".1%"
    assert figures.percent_format([0.5, 0.9]) == ".0%"
    assert figures.percent_format([]) == ".0%"
