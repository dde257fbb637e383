"""The design doc's facts, pinned: Table 1, v1.1, bypass variants, MACs, rounding and validation."""

import pytest

from sqzdse.arch import (
    ArchConfig,
    count_macs,
    count_params,
    fire_filters,
    model_size_bytes,
    pool_out,
    preset,
    resolve,
)
from sqzdse.errors import ArchError

TABLE_1 = {  # paper Table 1, SqueezeNet v1.0 at 1000 classes
    "conv1": 14_208,
    "fire2": 11_920,
    "fire3": 12_432,
    "fire4": 45_344,
    "fire5": 49_440,
    "fire6": 104_880,
    "fire7": 111_024,
    "fire8": 188_992,
    "fire9": 197_184,
    "conv10": 513_000,
}
TABLE_1_FILTERS = {
    "fire2": "16/64/64",
    "fire3": "16/64/64",
    "fire4": "32/128/128",
    "fire5": "32/128/128",
    "fire6": "48/192/192",
    "fire7": "48/192/192",
    "fire8": "64/256/256",
    "fire9": "64/256/256",
}


@pytest.mark.parametrize("layer", sorted(TABLE_1))
def test_table_1_rows(layer):
    rows = {r.name: r for r in resolve(preset("v1.0")).layers}
    assert rows[layer].params == TABLE_1[layer]
    if layer in TABLE_1_FILTERS:
        assert rows[layer].filters == TABLE_1_FILTERS[layer]


def test_table_1_layer_order_and_pools():
    names = [r.name for r in resolve(preset("v1.0")).layers]
    assert names == [
        "conv1",
        "maxpool1",
        "fire2",
        "fire3",
        "fire4",
        "maxpool4",
        "fire5",
        "fire6",
        "fire7",
        "fire8",
        "maxpool8",
        "fire9",
        "dropout",
        "conv10",
        "avgpool",
    ]


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (preset("v1.0"), 1_248_424),
        (preset("v1.1"), 1_235_496),
        (preset("v1.0", bypass="simple"), 1_248_424),
        (preset("v1.0", bypass="complex"), 1_589_672),
    ],
)
def test_total_params(cfg, expected):
    assert count_params(cfg) == expected


def test_bypass_placement_v1_0():
    simple = {f.name: f.shortcut for f in resolve(preset("v1.0", bypass="simple")).fires}
    assert [n for n, b in simple.items() if b == "identity"] == ["fire3", "fire5", "fire7", "fire9"]
    assert "conv" not in simple.values()
    complex_ = {f.name: f.shortcut for f in resolve(preset("v1.0", bypass="complex")).fires}
    assert [n for n, b in complex_.items() if b == "conv"] == ["fire2", "fire4", "fire6", "fire8"]
    assert [n for n, b in complex_.items() if b == "identity"] == [
        "fire3",
        "fire5",
        "fire7",
        "fire9",
    ]


@pytest.mark.parametrize(("name", "gmacs"), [("v1.0", 0.819), ("v1.1", 0.349)])
def test_macs_match_torchvision_within_half_percent(name, gmacs):
    assert count_macs(preset(name)) / 1e9 == pytest.approx(gmacs, rel=0.005)


def test_model_size_at_32_and_8_bits():
    assert model_size_bytes(1_248_424, 32) == 4_993_696  # the paper's 4.8 MB (MiB)
    assert model_size_bytes(1_248_424, 8) == 1_248_424
    assert model_size_bytes(3, 6) == 3  # 18 bits round up to 3 bytes


def test_metaparameter_formulas_and_rounding_half_up():
    cfg = ArchConfig(base_e=10, incr_e=6, pct_3x3=0.25, freq=3, sr=0.15)
    # e = 10, 10, 10, 16, 16, 16, 22, 22; 3x3 = round(2.5)=3, round(4)=4, round(5.5)=6;
    # squeeze = round(1.5)=2, round(2.4)=2, round(3.3)=3
    assert [fire_filters(cfg, i) for i in (0, 3, 6)] == [(2, 7, 3), (2, 12, 4), (3, 16, 6)]
    # exactly half on a binary-inexact decimal: 0.3 * 5 = 1.5 rounds up to 2
    assert fire_filters(ArchConfig(base_e=5, incr_e=0, sr=0.3, pct_3x3=0.3), 0) == (2, 3, 2)


def test_squeeze_is_at_least_one_filter():
    assert fire_filters(ArchConfig(base_e=4, incr_e=0, sr=0.01), 0)[0] == 1


@pytest.mark.parametrize(("pct", "e1", "e3"), [(0.0, 128, 0), (1.0, 0, 128)])
def test_pct_extremes_drop_a_branch(pct, e1, e3):
    assert fire_filters(ArchConfig(pct_3x3=pct), 0)[1:] == (e1, e3)


def test_pool_out_matches_ceil_mode():
    assert [pool_out(n) for n in (109, 55, 27, 13, 3, 2, 1)] == [54, 27, 13, 6, 1, 1, 0]


def test_more_modules_and_spatial_sizes():
    cfg = ArchConfig(num_modules=10, pool_after=("conv1", "fire4", "fire11"), resolution=64)
    fires = resolve(cfg).fires
    assert [f.name for f in fires][-1] == "fire11"
    assert resolve(cfg).stem_size == 29
    assert [f.size for f in fires] == [14, 14, 14, 7, 7, 7, 7, 7, 7, 7]


def test_pool_positions_are_sorted_into_layer_order():
    cfg = ArchConfig(pool_after=["fire8", "conv1", "fire4"])
    assert cfg.pool_after == ("conv1", "fire4", "fire8")
    assert cfg == preset("v1.0")


def test_config_round_trips_through_dict():
    cfg = preset("v1.1", bypass="complex", num_classes=10)
    assert ArchConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"base_e": 0}, "`base_e` must be a positive number of filters (>= 1), got 0"),
        ({"incr_e": -1}, "`incr_e` must be a non-negative number of filters (>= 0), got -1"),
        (
            {"stem_filters": -4},
            "`stem_filters` must be a positive number of filters (>= 1), got -4",
        ),
        ({"pct_3x3": 1.5}, "`pct_3x3` must be a fraction in [0, 1], got 1.5"),
        ({"pct_3x3": -0.1}, "`pct_3x3` must be a fraction in [0, 1], got -0.1"),
        ({"sr": 0.0}, "`sr` must be a squeeze ratio > 0, got 0.0"),
        ({"sr": -0.5}, "`sr` must be a squeeze ratio > 0, got -0.5"),
        ({"freq": 0}, "`freq` must be an integer >= 1, got 0"),
        ({"freq": 1.5}, "`freq` must be an integer, got 1.5"),
        ({"bypass": "full"}, "`bypass` must be one of none, simple, complex, got 'full'"),
        ({"num_classes": 0}, "`num_classes` must be an integer >= 1, got 0"),
        (
            {"pool_after": ("conv1", "fire10")},
            "`pool_after` names unknown layer 'fire10'; valid layers: conv1, fire2, fire3, fire4, "
            "fire5, fire6, fire7, fire8, fire9",
        ),
        (
            {"pool_after": ("conv1", "fire4", "fire4")},
            "`pool_after` lists fire4 more than once; each layer can be followed by one pool",
        ),
        (
            {"resolution": 5},
            "the feature map vanishes at conv1: a 5x5 input is smaller than its 7x7 kernel",
        ),
        (
            {"resolution": 32, "pool_after": ("conv1", "fire2", "fire3", "fire4")},
            "the feature map vanishes at the max-pool after fire4: its input is 1x1",
        ),
    ],
)
def test_bad_configs_name_the_field_and_value(changes, message):
    with pytest.raises(ArchError) as err:
        preset("v1.0", **changes)
    assert message in str(err.value)


def test_negative_increment_that_empties_a_module_is_refused():
    with pytest.raises(ArchError, match="`incr_e`"):
        ArchConfig(base_e=8, incr_e=-8)


def test_unknown_fields_are_refused_from_dicts():
    with pytest.raises(ArchError, match=r"unknown architecture field\(s\) \['width'\]"):
        ArchConfig.from_dict({"width": 3})


def test_unknown_preset():
    with pytest.raises(ArchError, match="unknown preset 'v2'; valid presets: v1.0, v1.1"):
        preset("v2")


def test_arch_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, sqzdse.arch; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
