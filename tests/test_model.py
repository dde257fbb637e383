"""The built PyTorch network agrees with the analytic description: counts, folding, shapes."""

import itertools

import pytest
import torch

from sqzdse.arch import ArchConfig, count_params, preset, resolve
from sqzdse.model import build_model, count_model_params, fold_batchnorm

POOL_LAYOUTS = [(), ("conv1", "fire4", "fire8"), ("conv1", "fire3", "fire5"), ("fire2", "fire9")]
GRID = [
    # module count and class count cycle with the index so every value meets every other axis
    ArchConfig(base_e=16, incr_e=8, pct_3x3=pct, freq=freq, sr=0.25, bypass=bypass,
               pool_after=pools, num_modules=(8, 10, 9)[i % 3], num_classes=(10, 1000)[i % 2],
               resolution=64)
    for i, (bypass, pct, freq, pools) in enumerate(itertools.product(
        ("none", "simple", "complex"), (0.0, 0.5, 1.0), (1, 2, 3, 4), POOL_LAYOUTS))
] + [preset("v1.0"), preset("v1.1"), preset("v1.0", bypass="complex"),
     preset("v1.1", bypass="simple", num_classes=200)]


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


@pytest.mark.parametrize("cfg", [
    preset("v1.0", num_classes=10, resolution=32, bypass="complex"),
    ArchConfig(base_e=16, incr_e=16, pct_3x3=1.0, freq=1, bypass="simple", num_classes=7,
               resolution=48, pool_after=("fire3",)),
    ArchConfig(base_e=24, incr_e=8, pct_3x3=0.0, num_modules=10, num_classes=5, resolution=40),
], ids=["v1.0-complex", "all-3x3-simple", "all-1x1-10-modules"])
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


@pytest.mark.parametrize(("name", "resolution"), [("v1.0", 224), ("v1.0", 32), ("v1.1", 64),
                                                  ("v1.1", 17)])
def test_forward_shapes_follow_the_analytic_sizes(name, resolution):
    cfg = preset(name, num_classes=10, resolution=resolution, bypass="complex")
    model = build_model(cfg).eval()
    activations = {}
    for index, layer in enumerate(model.features):
        layer.register_forward_hook(lambda m, i, o, k=index: activations.__setitem__(k, o.shape))
    with torch.no_grad():
        out = model(torch.zeros(2, 3, resolution, resolution))
    assert out.shape == (2, 10)
    expected = [(r.out_channels, r.out_size) for r in resolve(cfg).layers
                if r.kind in ("conv", "pool", "fire") and r.name != "conv10"
                and not r.name.endswith("_bypass")]
    assert [(s[1], s[2]) for s in activations.values()] == expected
