"""The built PyTorch network agrees with the analytic description: counts, folding, shapes."""

import itertools

import pytest
import torch

from sqzdse.arch import ArchConfig, count_macs, count_params, preset, resolve
from sqzdse.model import Fire, build_model, count_model_params, fold_batchnorm

POOL_LAYOUTS = [(), ("conv1", "fire4", "fire8"), ("conv1", "fire3", "fire5"), ("fire2", "fire9")]
GRID = [
    # module count and class count cycle with the index so every value meets every other axis
    ArchConfig(
        base_e=16,
        incr_e=8,
        pct_3x3=pct,
        freq=freq,
        sr=0.25,
        bypass=bypass,
        pool_after=pools,
        num_modules=(8, 10, 9)[i % 3],
        num_classes=(10, 1000)[i % 2],
        resolution=64,
    )
    for i, (bypass, pct, freq, pools) in enumerate(
        itertools.product(
            ("none", "simple", "complex"), (0.0, 0.5, 1.0), (1, 2, 3, 4), POOL_LAYOUTS
        )
    )
] + [
    preset("v1.0"),
    preset("v1.1"),
    preset("v1.0", bypass="complex"),
    preset("v1.1", bypass="simple", num_classes=200),
]


@pytest.mark.parametrize("batchnorm", [False, True])
def test_analytic_params_equal_built_model_over_grid(batchnorm):
    for cfg in GRID:
        model = build_model(cfg, batchnorm=batchnorm)
        real = count_model_params(fold_batchnorm(model) if batchnorm else model)
        assert real == count_params(cfg), cfg


def test_batchnorm_adds_two_parameters_per_normalised_channel():
    cfg = preset("v1.0", num_classes=10, resolution=32)
    with_bn = count_model_params(build_model(cfg, batchnorm=True))
    # the performance doc's 746,506 for v1.0 on digits counts BatchNorm's scale and shift
    assert (count_params(cfg), with_bn) == (740_554, 746_506)


@pytest.mark.parametrize(
    "cfg",
    [
        preset("v1.0", num_classes=10, resolution=32, bypass="complex"),
        ArchConfig(
            base_e=16,
            incr_e=16,
            pct_3x3=1.0,
            freq=1,
            bypass="simple",
            num_classes=7,
            resolution=48,
            pool_after=("fire3",),
        ),
        ArchConfig(base_e=24, incr_e=8, pct_3x3=0.0, num_modules=10, num_classes=5, resolution=40),
    ],
    ids=["v1.0-complex", "all-3x3-simple", "all-1x1-10-modules"],
)
def test_folded_batchnorm_gives_equal_outputs_in_eval_mode(cfg):
    torch.manual_seed(0)
    model = build_model(cfg, batchnorm=True)
    x = torch.randn(8, 3, cfg.resolution, cfg.resolution)
    model.train()
    with torch.no_grad():  # move running statistics away from their initial 0 / 1
        for _ in range(3):
            model(x * 2 + 1)
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    model.eval()
    folded = fold_batchnorm(model).eval()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert count_model_params(folded) == count_params(cfg)
    with torch.no_grad():
        expected, got = model(x).double(), folded(x).double()
    rel = (expected - got).norm() / expected.norm()
    assert expected.abs().max() > 0 and rel < 1e-5


@pytest.mark.parametrize(
    ("name", "resolution"), [("v1.0", 224), ("v1.0", 32), ("v1.1", 64), ("v1.1", 17)]
)
def test_forward_shapes_follow_the_analytic_sizes(name, resolution):
    cfg = preset(name, num_classes=10, resolution=resolution, bypass="complex")
    model = build_model(cfg).eval()
    activations = {}
    for index, layer in enumerate(model.features):
        layer.register_forward_hook(lambda m, i, o, k=index: activations.__setitem__(k, o.shape))
    with torch.no_grad():
        out = model(torch.zeros(2, 3, resolution, resolution))
    assert out.shape == (2, 10)
    expected = [
        (r.out_channels, r.out_size)
        for r in resolve(cfg).layers
        if r.kind in ("conv", "pool", "fire")
        and r.name != "conv10"
        and not r.name.endswith("_bypass")
    ]
    assert [(s[1], s[2]) for s in activations.values()] == expected


# ---------------------------------------------------------------------------- MACs, measured

STEM = {"stem_filters": 12, "stem_kernel": 5, "stem_stride": 3, "stem_padding": 2}
MAC_POOLS = {
    "no-pools": (),
    "early": ("conv1", "fire2"),
    "v1.0": ("conv1", "fire4", "fire8"),
    "late": ("fire8", "fire9"),
}


def measured_macs(cfg: ArchConfig) -> dict[str, int]:
    """Multiply-accumulates of every Conv2d of the built network on a real forward pass of one
    image, out_h * out_w * out_channels * in_channels / groups * kh * kw, summed per row of the
    layer table: conv1, each Fire module (squeeze and expands), its bypass conv, conv10."""
    model = build_model(cfg, batchnorm=False).eval()
    fires = [m for m in model.modules() if isinstance(m, Fire)]
    owner = {}  # Conv2d -> the layer-table row it belongs to
    for name, fire in zip(cfg.module_names, fires):
        for part in (fire.squeeze, fire.expand1x1, fire.expand3x3):
            if part is not None:
                owner[part.conv] = name
        if fire.bypass is not None:
            owner[fire.bypass.conv] = f"{name}_bypass"
    owner[model.features[0].conv] = "conv1"
    classifier = [m for m in model.classifier.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(classifier) == 1
    owner[classifier[0]] = "conv10"
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert set(convs) == set(owner), "a convolution the mapping does not know"

    macs: dict[str, int] = {}

    def hook(conv, inputs, output):
        n, out_c, out_h, out_w = output.shape
        kh, kw = conv.kernel_size
        assert n == 1 and inputs[0].shape[1] == conv.in_channels
        count = out_h * out_w * out_c * (conv.in_channels // conv.groups) * kh * kw
        macs[owner[conv]] = macs.get(owner[conv], 0) + count

    for conv in convs:
        conv.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, cfg.in_channels, cfg.resolution, cfg.resolution))
    assert set(macs) == set(owner.values()), "a convolution never ran"
    return macs


def table_macs(cfg: ArchConfig) -> dict[str, int]:
    """The layer table's MACs per convolution row; pools, dropout and avgpool count none."""
    rows = resolve(cfg).layers
    assert all(r.macs == 0 for r in rows if r.kind not in ("conv", "fire"))
    return {r.name: r.macs for r in rows if r.kind in ("conv", "fire")}


@pytest.mark.parametrize("stem", [{}, STEM], ids=["default-stem", "stem-12-5x5-s3-p2"])
@pytest.mark.parametrize("pools", list(MAC_POOLS.values()), ids=list(MAC_POOLS))
@pytest.mark.parametrize("bypass", ["none", "simple", "complex"])
def test_macs_equal_the_built_models_convolutions(bypass, pools, stem):
    cfg = ArchConfig(
        base_e=16,
        incr_e=8,
        pct_3x3=0.5,
        freq=2,
        sr=0.25,
        bypass=bypass,
        pool_after=pools,
        num_classes=7,
        resolution=45,
        **stem,
    )
    measured = measured_macs(cfg)
    assert table_macs(cfg) == measured
    assert count_macs(cfg) == sum(measured.values())
    bypass_convs = [name for name in measured if name.endswith("_bypass")]
    assert bool(bypass_convs) == (bypass == "complex")  # the grid exercises bypass convolutions


@pytest.mark.parametrize(
    "cfg",
    [
        ArchConfig(
            base_e=8,
            incr_e=4,
            pct_3x3=0.0,
            freq=1,
            sr=0.5,
            bypass="complex",
            num_modules=5,
            pool_after=("fire3",),
            num_classes=3,
            resolution=23,
            in_channels=1,
            stem_filters=6,
            stem_kernel=4,
            stem_stride=1,
            stem_padding=3,
        ),
        ArchConfig(
            base_e=8,
            incr_e=8,
            pct_3x3=1.0,
            freq=3,
            sr=0.125,
            bypass="simple",
            num_modules=6,
            pool_after=("conv1", "fire7"),
            num_classes=5,
            resolution=30,
            stem_filters=8,
            stem_kernel=2,
            stem_stride=2,
        ),
        preset("v1.0", bypass="complex", num_classes=10, resolution=64),
        preset("v1.1", bypass="simple", num_classes=10, resolution=64),
    ],
    ids=["all-1x1-one-channel", "all-3x3", "v1.0-complex", "v1.1-simple"],
)
def test_macs_equal_the_built_model_at_the_edges(cfg):
    measured = measured_macs(cfg)
    assert table_macs(cfg) == measured
    assert count_macs(cfg) == sum(measured.values())
