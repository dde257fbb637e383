"""Deep Compression of a trained network (Han et al. 2016, as in SqueezeNet's section 4), measured:
the bytes of a real file and the accuracy of the network that file decodes to.

    from sqzdse.compression.pipeline import compress, decompress
    result = compress(weights, data, Settings(density=0.33, bits=6), config)
    Path("net.sqzc").write_bytes(result.data)
    decompress(Path("net.sqzc").read_bytes())      # Weights equal to result.weights, bit for bit

Every convolution's weights, the classifier's included, are pruned to `density` by magnitude
(per layer), fine-tuned with the masks held, shared by k-means (per layer, linear initialisation,
2**bits - 1 values and the reserved zero), the shared values fine-tuned, and written with Huffman
codes (`_format`). Biases are stored plainly, as float32.

This module holds the settings and the report (no torch); `pipeline` does the work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqzdse.errors import SqzdseError

__all__ = ["LayerReport", "CompressionReport", "Settings"]

DEFAULT_DENSITY = 0.33
DEFAULT_BITS = 6
DEFAULT_FINETUNE_EPOCHS = 3
MAX_BITS = 8  # a code length table has 2**bits entries


@dataclass(frozen=True)
class Settings:
    """How hard to compress: the share of each layer's weights kept, the bits of a weight index,
    and the fine-tuning epochs of each of the two phases (pruned, then shared)."""

    density: float = DEFAULT_DENSITY
    bits: int = DEFAULT_BITS
    finetune_epochs: int = DEFAULT_FINETUNE_EPOCHS

    def __post_init__(self) -> None:
        def is_int(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        density = self.density
        if not (isinstance(density, (int, float)) and not isinstance(density, bool)) or not (
            0 < density <= 1
        ):
            raise SqzdseError(f"density must be in (0, 1], got {density!r}")
        if not (is_int(self.bits) and 1 <= self.bits <= MAX_BITS):
            raise SqzdseError(f"bits must be an integer from 1 to {MAX_BITS}, got {self.bits!r}")
        if not (is_int(self.finetune_epochs) and self.finetune_epochs >= 0):
            raise SqzdseError(
                f"finetune_epochs must be an integer >= 0, got {self.finetune_epochs!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LayerReport:
    """One convolution: what was kept, how it is coded, and its bytes."""

    name: str  # conv1, fire2.squeeze, fire2.expand3x3, fire2.bypass, conv10, ...
    weights: int
    nonzero: int
    bits: int
    index_bits: int  # width of a relative index gap (chosen per layer, smallest fixed-width size)
    shared_values: int
    fillers: int  # entries added because a gap overflowed the index width
    plain: int  # parameters stored as float32 (the bias)
    estimate_bytes: int  # fixed width: entries x (bits + index_bits), codebook, plain bias
    file_bytes: int  # its section of the file (Huffman-coded) and its bias

    @property
    def density(self) -> float:
        return self.nonzero / self.weights


@dataclass(frozen=True)
class CompressionReport:
    settings: Settings
    layers: list[LayerReport]
    header_bytes: int  # signature, version and the deflated JSON header (architecture, layers)
    file_bytes: int
    dense_bytes: int  # every parameter at 32 bits
    top1_before: float | None
    top5_before: float | None
    top1_after: float | None  # of the network decoded from the file
    top5_after: float | None
    seconds: float
    loss: list[dict[str, Any]] = field(default_factory=list)  # fine-tuning loss per epoch

    @property
    def estimate_bytes(self) -> int:
        return sum(layer.estimate_bytes for layer in self.layers)

    @property
    def ratio(self) -> float:
        """How many times smaller than 32-bit weights."""
        return self.dense_bytes / self.file_bytes

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what a trial's `compression` attribute and `--json` hold)."""
        return {
            "settings": self.settings.to_dict(),
            "compressed_bytes": self.file_bytes,
            "estimate_bytes": self.estimate_bytes,
            "header_bytes": self.header_bytes,
            "dense_bytes": self.dense_bytes,
            "ratio": self.ratio,
            "top1_before": self.top1_before,
            "top5_before": self.top5_before,
            "top1_after": self.top1_after,
            "top5_after": self.top5_after,
            "seconds": self.seconds,
            "loss": self.loss,
            "layers": [{**asdict(layer), "density": layer.density} for layer in self.layers],
        }
