"""The int8 network's memory: peak SRAM of the activations and flash of the weights, exact.

Checked on SqueezeNet v1.1 (the issue's worked example), on tiny networks worked out by hand,
against the tensor shapes of the real PyTorch module, and as constraints and objectives of a space.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from sqzdse.arch import ArchConfig, flash_bytes, peak_sram_bytes, preset, resolve
from sqzdse.errors import SearchError, SpaceError
from sqzdse.model import Fire, build_model
from sqzdse.records import TrialRecord, analytic_metrics, metric
from sqzdse.search import Objective, make_setup, open_study, run_search
from sqzdse.search._objective import over_budget
from sqzdse.space import parse_space
from sqzdse.storage import open_storage
from sqzdse.testing import sqlite_url
from tests.search.helpers import TINY

MEMORY_METRICS = ("peak_sram_bytes", "flash_bytes")


def ops(cfg: ArchConfig) -> list[tuple[str, int]]:
    return [(op.name, op.bytes) for op in resolve(cfg).sram_operators]


# ---------------------------------------------------------------------------- worked example


def test_v1_1_at_224_peaks_at_the_pool_after_conv1():
    r = resolve(preset("v1.1"))
    peak = r.peak_sram_op
    assert peak.name == "maxpool1"
    assert peak.alive == (("input", 64 * 111 * 111), ("output", 64 * 55 * 55))
    assert r.peak_sram_bytes == peak_sram_bytes(preset("v1.1")) == 982_144
    assert analytic_metrics(preset("v1.1"))["peak_sram_bytes"] == 982_144
    # conv1 just before it: the 3 x 224 x 224 image and its 64 x 111 x 111 output
    assert ops(preset("v1.1"))[:2] == [("conv1", 150_528 + 788_544), ("maxpool1", 982_144)]


def test_v1_0_at_224():
    r = resolve(preset("v1.0"))  # conv1 96 x 109 x 109, then 96 x 54 x 54
    assert (r.peak_sram_op.name, r.peak_sram_bytes) == ("maxpool1", 96 * 109 * 109 + 96 * 54 * 54)


# ---------------------------------------------------------------------------- by hand

# Three Fire modules at 8 x 8 input, a 3x3/1 padded stem of 8 filters, a pool after conv1 and one
# after fire3. e = 8, 8, 16 (freq 2); 3x3 half; squeeze a quarter: fire2 and fire3 are 2/4/4 with
# 8 channels in and out, fire4 is 4/8/8 with 8 in and 16 out.
TINY_NET = ArchConfig(
    base_e=8,
    incr_e=8,
    pct_3x3=0.5,
    freq=2,
    sr=0.25,
    num_modules=3,
    pool_after=("conv1", "fire3"),
    num_classes=5,
    resolution=8,
    stem_filters=8,
    stem_kernel=3,
    stem_stride=1,
    stem_padding=1,
)
# conv1: image 3 x 8 x 8 = 192, output 8 x 8 x 8 = 512; maxpool1: 512 -> 8 x 4 x 4 = 128.
# fire2 and fire3 at 4 x 4: x = 128, s = 2 x 16 = 32, c = 8 x 16 = 128; maxpool3: 128 -> 8 x 2 x 2.
# fire4 at 2 x 2: x = 32, s = 4 x 4 = 16, c = 16 x 4 = 64. conv10: 64 -> 5 x 2 x 2 = 20; avgpool 5.
HEAD = [("conv1", 192 + 512), ("maxpool1", 512 + 128)]
TAIL = [("conv10", 64 + 20), ("avgpool", 20 + 5)]


def test_by_hand_without_bypass():
    assert ops(TINY_NET) == [
        *HEAD,
        ("fire2.squeeze", 128 + 32),
        ("fire2.expand1x1", 32 + 128),
        ("fire2.expand3x3", 32 + 128),
        ("fire3.squeeze", 128 + 32),
        ("fire3.expand1x1", 32 + 128),
        ("fire3.expand3x3", 32 + 128),
        ("maxpool3", 128 + 32),
        ("fire4.squeeze", 32 + 16),
        ("fire4.expand1x1", 16 + 64),
        ("fire4.expand3x3", 16 + 64),
        *TAIL,
    ]
    assert resolve(TINY_NET).peak_sram_op.name == "conv1"


def test_by_hand_simple_bypass_keeps_x_through_the_expands():
    # fire2 and fire3 (8 -> 8 channels) get an identity; fire4 (8 -> 16) none
    assert ops(TINY_NET.replace(bypass="simple")) == [
        *HEAD,
        ("fire2.squeeze", 128 + 32),
        ("fire2.expand1x1", 32 + 128 + 128),
        ("fire2.expand3x3", 32 + 128 + 128),
        ("fire2.bypass", 128 + 128),
        ("fire3.squeeze", 128 + 32),
        ("fire3.expand1x1", 32 + 128 + 128),
        ("fire3.expand3x3", 32 + 128 + 128),
        ("fire3.bypass", 128 + 128),
        ("maxpool3", 128 + 32),
        ("fire4.squeeze", 32 + 16),
        ("fire4.expand1x1", 16 + 64),
        ("fire4.expand3x3", 16 + 64),
        *TAIL,
    ]


def test_by_hand_complex_bypass_accumulates_the_1x1_convolution_into_c():
    r = resolve(TINY_NET.replace(bypass="complex"))
    assert [(op.name, op.bytes) for op in r.sram_operators][-6:] == [
        ("fire4.squeeze", 32 + 16),
        ("fire4.expand1x1", 16 + 64 + 32),
        ("fire4.expand3x3", 16 + 64 + 32),
        ("fire4.bypass", 32 + 64),
        *TAIL,
    ]
    alive = {op.name: op.alive for op in r.sram_operators}
    assert alive["fire4.expand3x3"] == (("s", 16), ("c", 64), ("x", 32))
    assert alive["fire4.bypass"] == (("x", 32), ("c", 64))
    assert alive["fire2.bypass"] == (("x", 128), ("c", 128))  # the identity of fire2


def test_a_fire_module_can_be_the_peak_and_an_absent_expand_is_no_operator():
    # One module of 8/16/16 on a 32-channel 1x1 stem at 4 x 4: x = 512, s = 128, c = 512.
    cfg = ArchConfig(
        base_e=32,
        incr_e=0,
        pct_3x3=0.5,
        freq=1,
        sr=0.25,
        num_modules=1,
        pool_after=(),
        num_classes=2,
        resolution=4,
        in_channels=1,
        stem_filters=32,
        stem_kernel=1,
        stem_stride=1,
        dropout=0.0,
    )
    head = [("conv1", 16 + 512)]
    tail = [("conv10", 512 + 32), ("avgpool", 32 + 2)]
    assert ops(cfg) == [
        *head,
        ("fire2.squeeze", 512 + 128),
        ("fire2.expand1x1", 128 + 512),
        ("fire2.expand3x3", 128 + 512),
        *tail,
    ]
    simple = resolve(cfg.replace(bypass="simple"))
    assert (simple.peak_sram_op.name, simple.peak_sram_bytes) == ("fire2.expand1x1", 1152)
    only_3x3 = cfg.replace(pct_3x3=1.0, bypass="simple")  # e1x1 = 0: no expand1x1
    assert ops(only_3x3) == [
        *head,
        ("fire2.squeeze", 512 + 128),
        ("fire2.expand3x3", 128 + 512 + 512),
        ("fire2.bypass", 512 + 512),
        *tail,
    ]


# ---------------------------------------------------------------------------- the real module

SHAPE_GRID = [
    ArchConfig(
        base_e=16,
        incr_e=8,
        pct_3x3=pct,
        freq=2,
        sr=0.25,
        bypass=bypass,
        pool_after=pools,
        num_classes=7,
        resolution=37,
        stem_filters=24,
        stem_kernel=5,
        stem_stride=stride,
        stem_padding=2,
    )
    for bypass, pct, pools, stride in itertools.product(
        ("none", "simple", "complex"),
        (0.0, 0.5, 1.0),
        ((), ("conv1", "fire4", "fire8"), ("fire2", "fire9")),
        (1, 2),
    )
] + [preset("v1.0", resolution=64, bypass="complex"), preset("v1.1", resolution=64)]


def measured_operators(cfg: ArchConfig) -> list[tuple[str, int]]:
    """The operator list recomputed from the tensors of the built network on one image: forward
    hooks record the input and output elements of every convolution, pool and Fire module in the
    order they run, and the convention (input + output; a Fire module's x + s, s + c (+ x while a
    bypass needs it), x + c) is applied to those numbers."""
    model = build_model(cfg).eval()
    seen: list[tuple[str, int, int]] = []  # (name, input elements, output elements), batch of 1

    def record(name: str, module: nn.Module) -> None:
        module.register_forward_hook(
            lambda m, inputs, output: seen.append((name, inputs[0].numel(), output.numel()))
        )

    fires: dict[str, Fire] = {}
    after = "1"  # a pool is named after the layer it follows: maxpool1 after conv1
    for layer in model.features:
        if isinstance(layer, Fire):
            after = str(len(fires) + 2)
            module = f"fire{after}"
            fires[module] = layer
            for part in ("squeeze", "expand1x1", "expand3x3", "bypass"):
                if getattr(layer, part) is not None:
                    record(f"{module}.{part}", getattr(layer, part))
            record(module, layer)  # runs after its parts
        elif isinstance(layer, nn.MaxPool2d):
            record(f"maxpool{after}", layer)
        else:
            record("conv1", layer)
    record("conv10", model.classifier[1])
    record("avgpool", model.classifier[2])
    with torch.no_grad():
        model(torch.zeros(1, cfg.in_channels, cfg.resolution, cfg.resolution))

    whole = {name: (x, out) for name, x, out in seen if name in fires}  # (x, c) of each module
    for module, (_, c) in whole.items():  # the expands fill exactly the concatenation
        assert c == sum(out for n, _, out in seen if n.startswith(f"{module}.expand"))
    result = []
    for name, x, out in seen:
        if name in fires:
            if fires[name].shortcut == "identity":  # the add, after the expands
                result.append((f"{name}.bypass", x + out))
        elif "." not in name:
            result.append((name, x + out))
        else:
            module, part = name.split(".")
            fx, c = whole[module]
            if part == "squeeze":
                result.append((name, x + out))
            elif part == "bypass":
                result.append((name, x + c))  # the 1x1 convolution accumulated into c
            else:
                result.append((name, x + c + (fx if fires[module].shortcut != "none" else 0)))
    return result


@pytest.mark.parametrize("cfg", SHAPE_GRID)
def test_operators_match_the_built_modules_tensors(cfg):
    measured = measured_operators(cfg)
    assert ops(cfg) == measured
    assert resolve(cfg).peak_sram_bytes == max(size for _, size in measured)


def test_the_grid_exercises_every_kind_of_operator():
    names = {name.split(".")[-1] for cfg in SHAPE_GRID for name, _ in ops(cfg)}
    assert {"bypass", "expand1x1", "expand3x3", "squeeze", "maxpool1", "maxpool4"} <= names
    absent = [cfg for cfg in SHAPE_GRID if cfg.pct_3x3 in (0.0, 1.0)]
    assert absent and all(
        len([n for n, _ in ops(cfg) if ".expand" in n]) == cfg.num_modules for cfg in absent
    )


# ---------------------------------------------------------------------------- flash


def test_flash_by_hand():
    cfg = TINY_NET.replace(bypass="complex")
    # weights + 4 * biases + 4 * scales, one bias and one scale per output channel
    conv1 = 8 * 3 * 3 * 3 + 8 * 8  # 216 weights
    fire23 = (8 * 2 + 8 * 2) + (2 * 4 + 8 * 4) + (2 * 9 * 4 + 8 * 4)  # squeeze, expands
    fire4 = (8 * 4 + 8 * 4) + (4 * 8 + 8 * 8) + (4 * 9 * 8 + 8 * 8) + (8 * 16 + 8 * 16)
    conv10 = 16 * 5 + 8 * 5
    assert flash_bytes(cfg) == conv1 + 2 * fire23 + fire4 + conv10 == 1520
    biases = 8 + 2 * (2 + 4 + 4) + (4 + 8 + 8 + 16) + 5
    assert analytic_metrics(cfg)["flash_bytes"] == analytic_metrics(cfg)["params"] + 7 * biases
    assert flash_bytes(TINY_NET) == 1520 - (8 * 16 + 8 * 16)  # without fire4's bypass conv


@pytest.mark.parametrize("cfg", SHAPE_GRID[::5] + [preset("v1.0"), preset("v1.1")])
def test_flash_equals_the_built_modules_convolutions(cfg):
    convs = [m for m in build_model(cfg).modules() if isinstance(m, nn.Conv2d)]
    expected = sum(c.weight.numel() + 4 * c.bias.numel() + 4 * c.out_channels for c in convs)
    assert flash_bytes(cfg) == expected
    assert flash_bytes(cfg.replace(resolution=cfg.resolution * 2)) == expected  # not per image


def test_metric_entries():
    sram, flash = metric("peak_sram_bytes"), metric("flash_bytes")
    assert (sram.per_image, flash.per_image) == (True, False)
    assert (sram.dtype, flash.dtype, sram.direction, flash.direction) == (
        "Int64",
        "Int64",
        "minimize",
        "minimize",
    )
    assert sram.format(982_144) == "982,144"


def test_a_trial_stored_before_the_metrics_gets_them_in_its_row():
    cfg = preset("v1.1", num_classes=10, resolution=32)
    old = {k: v for k, v in analytic_metrics(cfg).items() if k not in MEMORY_METRICS}
    row = TrialRecord(arch=cfg, metrics=old).row()
    assert {name: row[name] for name in MEMORY_METRICS} == {
        "peak_sram_bytes": peak_sram_bytes(cfg),
        "flash_bytes": flash_bytes(cfg),
    }
    assert TrialRecord(metrics=old).row()["peak_sram_bytes"] is None  # no architecture, no value


# ---------------------------------------------------------------------------- in a space

MINIMAL = {"metaparameters": {"sr": {"choices": [0.125, 0.25]}}}


def test_a_space_takes_them_as_constraints_and_objectives():
    space = parse_space(
        {
            **MINIMAL,
            "constraints": {"peak_sram_bytes": 327_680, "flash_bytes": 1_048_576},
            "objectives": ["top1", "peak_sram_bytes"],
        }
    )
    assert space.constraints == {"peak_sram_bytes": 327_680, "flash_bytes": 1_048_576}
    assert space.objectives == ("top1", "peak_sram_bytes")


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        ({"peak_sram_bytes": -1}, "constraints.peak_sram_bytes: expected a maximum > 0, got -1"),
        ({"flash_bytes": "1MB"}, "constraints.flash_bytes: expected a maximum > 0, got '1MB'"),
        ({"flash_bytes": 0}, "constraints.flash_bytes: expected a maximum > 0, got 0"),
    ],
)
def test_bad_budgets_are_refused_with_the_key_path(constraints, message):
    with pytest.raises(SpaceError) as err:
        parse_space({**MINIMAL, "constraints": constraints})
    assert message in str(err.value)


def test_over_budget_names_each_exceeded_memory():
    costs = analytic_metrics(preset("v1.1"))
    assert over_budget(costs, {"peak_sram_bytes": 982_144, "flash_bytes": 2_000_000}) is None
    assert over_budget(costs, {"peak_sram_bytes": 327_680, "flash_bytes": 1_048_576}) == (
        "peak_sram_bytes 982,144 > budget 327,680; flash_bytes 1,263,104 > budget 1,048,576 "
        "(not trained)"
    )


def test_an_over_budget_network_is_never_trained(tmp_path):
    # TINY's networks at 16 px all peak at conv1: 3 x 16 x 16 + 16 x 7 x 7 = 1,552 bytes.
    space = parse_space({**TINY, "constraints": {"peak_sram_bytes": 1551}})
    setup = make_setup(space)
    study = open_study(
        setup, storage=open_storage(sqlite_url(tmp_path / "m.db"), mode="write"), study_name="m"
    )
    calls = []

    def trainer(cfg, data, config, **kwargs):
        calls.append(cfg)
        raise AssertionError("an infeasible network was trained")

    with pytest.raises(SearchError, match="infeasible"):
        run_search(study, Objective(setup, n_trials=2, trainer=trainer), max_infeasible=3)
    assert calls == [] and len(study.trials) == 3
    for t in study.trials:
        assert t.user_attrs["status"] == "infeasible" and "top1" not in t.user_attrs
        assert t.user_attrs["peak_sram_bytes"] == 1552
        assert t.user_attrs["failure_reason"].startswith("peak_sram_bytes 1,552 > budget 1,551")
        assert t.system_attrs["constraints:peak_sram_bytes_budget"] == 1
