"""Deployable weights: a trained network with its BatchNorm folded, its architecture and the input
normalisation it was trained with, as bytes with a checksum.

    weights = Weights.of(trained_model, arch, mean=data.mean, std=data.std)
    data = weights.to_bytes(); sha256(data)            # what an artifact store keeps
    model = Weights.from_bytes(data).deployable()      # float pixels 0-255 in, logits out

The bytes are a `torch.save` of plain tensors and lists, read back with `weights_only=True` (no code
is unpickled).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from sqzdse.arch import ArchConfig
from sqzdse.errors import SqzdseError
from sqzdse.model import SqueezeNet, build_model, fold_batchnorm

FORMAT = 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Normalized(torch.nn.Module):
    """The deployable network with its input normalisation inside: float32 pixel values 0-255,
    NCHW, RGB in; logits out. (x - 255 mean) * (1 / (255 std)), as training computed it."""

    shift: torch.Tensor  # buffers, registered in __init__
    scale: torch.Tensor

    def __init__(self, model: SqueezeNet, mean, std) -> None:
        super().__init__()
        self.model = model
        mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        self.register_buffer("shift", mean * 255)
        self.register_buffer("scale", 1 / (std * 255))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model((images - self.shift) * self.scale)


@dataclass(frozen=True)
class Weights:
    """A trained network, ready to deploy (module doc)."""

    arch: ArchConfig
    state: Mapping[str, torch.Tensor]  # the folded network's state_dict, float32 on the CPU
    mean: tuple[float, ...]  # per channel, of pixel values / 255
    std: tuple[float, ...]

    @classmethod
    def of(cls, model: SqueezeNet, arch: ArchConfig, *, mean, std) -> Weights:
        """The weights of a trained `model` (with or without training-time BatchNorm)."""
        # Module.to takes memory_format (torch's documentation); its type stubs leave it out.
        folded = fold_batchnorm(model).to("cpu", memory_format=torch.contiguous_format)  # type: ignore[call-overload]
        state = {k: v.detach().float().contiguous().clone() for k, v in folded.state_dict().items()}
        return cls(arch, state, tuple(map(float, mean)), tuple(map(float, std)))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save(
            {
                "format": FORMAT,
                "arch": self.arch.to_dict(),
                "mean": list(self.mean),
                "std": list(self.std),
                "state": dict(self.state),
            },
            buffer,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Weights:
        """SqzdseError for bytes that are not sqzdse weights."""
        try:
            stored = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
            if stored.get("format") != FORMAT:
                raise ValueError(f"format {stored.get('format')!r}, expected {FORMAT}")
            return cls(
                ArchConfig.from_dict(stored["arch"]),
                stored["state"],
                tuple(stored["mean"]),
                tuple(stored["std"]),
            )
        except Exception as err:  # pickle, zip, key and architecture errors alike
            raise SqzdseError(f"not sqzdse weights ({type(err).__name__}: {err})") from None

    def model(self) -> SqueezeNet:
        """The folded network in eval mode: normalised images in, logits out."""
        model = build_model(self.arch, batchnorm=False)
        model.load_state_dict(self.state)
        return model.eval()

    def deployable(self) -> Normalized:
        """The network with its normalisation: float pixel values 0-255 in, logits out."""
        return Normalized(self.model(), self.mean, self.std).eval()
