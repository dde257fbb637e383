"""PyTorch networks of the design space: Fire modules, bypass wiring, and BatchNorm folding.

One builder for every variant: `build_model(cfg)` follows `arch.resolve(cfg)` layer by layer, so the
analytic counts and the real module can never disagree on the structure.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from sqzdse.arch import POOL_KERNEL, POOL_STRIDE, ArchConfig, FireSpec, resolve


class ConvAct(nn.Module):
    """Convolution (with bias), optional training-time BatchNorm, optional ReLU."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        *,
        stride: int = 1,
        padding: int = 0,
        batchnorm: bool = False,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, bias=True)
        self.bn = nn.BatchNorm2d(out_ch) if batchnorm else None
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return torch.relu(x) if self.relu else x


class Fire(nn.Module):
    """squeeze 1x1 -> ReLU -> [expand 1x1, expand 3x3] -> ReLU -> concat, plus the module's bypass.

    A branch with 0 filters is absent. The bypass is added to the concatenated output (after its
    ReLU), as in the paper's figure 2.
    """

    def __init__(self, spec: FireSpec, *, batchnorm: bool = False) -> None:
        super().__init__()
        self.squeeze = ConvAct(spec.in_channels, spec.s1x1, 1, batchnorm=batchnorm)
        self.expand1x1 = (
            ConvAct(spec.s1x1, spec.e1x1, 1, batchnorm=batchnorm) if spec.e1x1 else None
        )
        self.expand3x3 = (
            ConvAct(spec.s1x1, spec.e3x3, 3, padding=1, batchnorm=batchnorm) if spec.e3x3 else None
        )
        self.shortcut = spec.shortcut
        self.bypass = (
            ConvAct(spec.in_channels, spec.out_channels, 1, batchnorm=batchnorm, relu=False)
            if spec.shortcut == "conv"
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        branches = [b(s) for b in (self.expand1x1, self.expand3x3) if b is not None]
        out = branches[0] if len(branches) == 1 else torch.cat(branches, 1)
        if self.shortcut == "identity":
            out = out + x
        elif self.bypass is not None:
            out = out + self.bypass(x)
        return out


class SqueezeNet(nn.Module):
    def __init__(self, cfg: ArchConfig, *, batchnorm: bool = False) -> None:
        super().__init__()
        self.config = cfg
        self.batchnorm = batchnorm
        resolved = resolve(cfg)
        layers: list[nn.Module] = [
            ConvAct(
                cfg.in_channels,
                cfg.stem_filters,
                cfg.stem_kernel,
                stride=cfg.stem_stride,
                padding=cfg.stem_padding,
                batchnorm=batchnorm,
            )
        ]
        if "conv1" in cfg.pool_after:
            layers.append(_pool())
        for spec in resolved.fires:
            layers.append(Fire(spec, batchnorm=batchnorm))
            if spec.pool_after:
                layers.append(_pool())
        self.features = nn.Sequential(*layers)
        last = resolved.fires[-1].out_channels
        # The classifier has no BatchNorm: it would fix the scale of the logits.
        self.classifier = nn.Sequential(
            nn.Dropout(cfg.dropout),
            ConvAct(last, cfg.num_classes, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(POOL_KERNEL, stride=POOL_STRIDE, ceil_mode=True)


def build_model(cfg: ArchConfig, *, batchnorm: bool = False) -> SqueezeNet:
    """The network `cfg` describes; `batchnorm=True` adds training-time BatchNorm after each
    convolution but the classifier, which `fold_batchnorm` removes again for deployment."""
    return SqueezeNet(cfg, batchnorm=batchnorm)


def fold_batchnorm(model: SqueezeNet) -> SqueezeNet:
    """A copy of `model` with every BatchNorm folded into the convolution before it.

    In eval mode the copy computes the same function with exactly the parameters `count_params`
    counts: w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta.
    """
    folded = copy.deepcopy(model)
    for module in folded.modules():
        if isinstance(module, ConvAct) and module.bn is not None:
            conv, bn = module.conv, module.bn
            bias, mean, var = conv.bias, bn.running_mean, bn.running_var
            # ConvAct builds its conv with bias=True and its BatchNorm with running statistics.
            assert bias is not None and mean is not None and var is not None
            with torch.no_grad():
                scale = bn.weight / torch.sqrt(var + bn.eps)
                conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
                bias.copy_((bias - mean) * scale + bn.bias)
            module.bn = None
    folded.batchnorm = False
    return folded


def count_model_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
