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

This module holds the settings and the report (no torch); `pipeline` does the work. The report is
also the one owner of a trial's stored `compression` block: `CompressionReport.to_dict` writes it,
`CompressionReport.from_dict` reads it back, whatever an older or damaged block holds (a value it
lacks, or holds as something else, is None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqzdse.errors import SqzdseError
from sqzdse.records import COMPRESSED_BYTES, finite_number, list_or_empty, whole_number

__all__ = ["LayerReport", "CompressionReport", "Settings", "StoredSettings"]

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
class StoredSettings:
    """`Settings` as a stored report holds them, read back without checking: each None where the
    block lacks it or holds something else (a report shows what it can)."""

    density: float | None = None
    bits: int | None = None
    finetune_epochs: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> StoredSettings:
        data = data if isinstance(data, Mapping) else {}
        return cls(
            density=finite_number(data.get("density")),
            bits=whole_number(data.get("bits")),
            finetune_epochs=whole_number(data.get("finetune_epochs")),
        )


@dataclass(frozen=True)
class LayerReport:
    """One convolution: what was kept, how it is coded, and its bytes. The pipeline fills every
    field; read back from a stored report (`from_dict`), what it lacks is None."""

    name: str | None  # conv1, fire2.squeeze, fire2.expand3x3, fire2.bypass, conv10, ...
    weights: int | None
    nonzero: int | None
    bits: int | None
    index_bits: int | None  # width of a relative index gap (per layer, smallest fixed-width size)
    shared_values: int | None
    fillers: int | None  # entries added because a gap overflowed the index width
    plain: int | None  # parameters stored as float32 (the bias)
    estimate_bytes: int | None  # fixed width: entries x (bits + index_bits), codebook, plain bias
    file_bytes: int | None  # its section of the file (Huffman-coded) and its bias

    @property
    def density(self) -> float | None:
        """The share of its weights kept; None unless both counts are known."""
        if self.weights and self.nonzero is not None:
            return self.nonzero / self.weights
        return None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "density": self.density}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayerReport:
        """The layer of a stored report's entry (`density` is computed again, not read)."""
        name = data.get("name")
        counts = {f.name: whole_number(data.get(f.name)) for f in fields(cls) if f.name != "name"}
        return cls(name=None if name is None else str(name), **counts)


@dataclass(frozen=True)
class CompressionReport:
    """What compressing a network measured. The pipeline fills every field but the accuracies
    (None without validation images); read back from a stored block (`from_dict`), what the block
    lacks is None and its settings are `StoredSettings`."""

    settings: Settings | StoredSettings
    layers: Sequence[LayerReport]
    header_bytes: int | None  # signature, version and the deflated JSON header (arch, layers)
    file_bytes: int | None
    dense_bytes: int | None  # every parameter at 32 bits
    top1_before: float | None
    top5_before: float | None
    top1_after: float | None  # of the network decoded from the file
    top5_after: float | None
    seconds: float | None
    loss: list[dict[str, Any]] = field(default_factory=list)  # fine-tuning loss per epoch

    @property
    def estimate_bytes(self) -> int | None:
        """The layers' fixed-width estimates added up; None unless every layer has one."""
        estimates = [layer.estimate_bytes for layer in self.layers]
        if not estimates or None in estimates:
            return None
        return sum(e for e in estimates if e is not None)

    @property
    def ratio(self) -> float | None:
        """How many times smaller than 32-bit weights; None unless both sizes are known."""
        if self.dense_bytes is None or not self.file_bytes:
            return None
        return self.dense_bytes / self.file_bytes

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what a trial's `compression` attribute and `--json` hold)."""
        return {
            "settings": self.settings.to_dict(),
            COMPRESSED_BYTES: self.file_bytes,
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
            "layers": [layer.to_dict() for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompressionReport:
        """The report a stored block holds; derived values (`estimate_bytes`, `ratio`, a layer's
        `density`) are computed again from the fields, not read."""
        layers = list_or_empty(data.get("layers"))
        return cls(
            settings=StoredSettings.from_dict(data.get("settings")),
            layers=[LayerReport.from_dict(layer) for layer in layers if isinstance(layer, Mapping)],
            header_bytes=whole_number(data.get("header_bytes")),
            file_bytes=whole_number(data.get(COMPRESSED_BYTES)),
            dense_bytes=whole_number(data.get("dense_bytes")),
            top1_before=finite_number(data.get("top1_before")),
            top5_before=finite_number(data.get("top5_before")),
            top1_after=finite_number(data.get("top1_after")),
            top5_after=finite_number(data.get("top5_after")),
            seconds=finite_number(data.get("seconds")),
            loss=[entry for entry in list_or_empty(data.get("loss")) if isinstance(entry, dict)],
        )
