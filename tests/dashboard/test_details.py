"""The trial detail panel (`details`): the layer table, a failed trial, the command that
rebuilds a trial, on hand-made trials."""

from __future__ import annotations

import shlex

import pytest

from sqzdse.arch import preset
from sqzdse.cli.count import count_report
from sqzdse.dashboard import details, figures, layout
from sqzdse.testing import small_arch
from tests.dashboard.figures.hand import study

# DataTable is the table this project chose (dash-ag-grid would be a new dependency).
pytestmark = pytest.mark.filterwarnings(
    r"ignore:\s*The dash_table.DataTable will be removed:DeprecationWarning"
)


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
