"""int8 post-training quantization: its settings (no torch). `sqzdse.export_model` does the work
(`measure_int8`: export to ONNX, quantize with ONNX Runtime, score on the validation images) for
`sqzdse export-model --int8` and for a search space's `quantization` section alike.

The quantization itself is fixed: QDQ format, int8 weights per output channel, int8 activations
per tensor (S8S8), ranges from each tensor's minimum and maximum over the calibration images, which
are training images drawn without replacement with `CALIBRATION_SEED`. What may be set is how many.

`Int8Block` is what quantizing measured: the model card's `int8` block and a trial's stored
`quantization` attribute, written with `to_dict` and read back with `from_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqzdse.errors import SqzdseError
from sqzdse.records import finite_number, mapping_or_none, text_or_none, whole_number

__all__ = ["CALIBRATION_SEED", "DEFAULT_CALIBRATION_IMAGES", "Int8Block", "Settings"]

DEFAULT_CALIBRATION_IMAGES = 256  # training images that calibrate the activation ranges
CALIBRATION_SEED = 0  # which ones: a fixed draw, so that a quantization repeats


@dataclass(frozen=True)
class Settings:
    """How a trained network is quantized to int8: the training images that calibrate it (all of
    them when the training split holds fewer)."""

    calibration_images: int = DEFAULT_CALIBRATION_IMAGES

    def __post_init__(self) -> None:
        n = self.calibration_images
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise SqzdseError(f"calibration_images must be an integer >= 1, got {n!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Int8Block:
    """What quantizing a network to int8 measured (`sqzdse.export_model.measure_int8` fills every
    field but the last three, which a search adds): the int8 file scored by ONNX Runtime on the
    validation images beside the fp32 file, how it was quantized, its bytes and latency. Read back
    with `from_dict`, what a stored block lacks (or holds as something else) is None."""

    top1: float | None
    top5: float | None
    fp32_top1: float | None
    fp32_top5: float | None
    drop_top1_points: float | None  # fp32 top-1 minus int8 top-1, in percentage points
    images: int | None  # validation images scored
    measured: str | None  # on what, in words
    format: str | None  # "QDQ"
    weights: str | None  # how the weights are quantized, in words
    activations: str | None
    per_channel: bool | None
    calibration_images: int | None
    calibration_split: str | None
    calibration_seed: int | None
    calibration_method: str | None
    bytes: int | None  # of the int8 ONNX file
    fp32_bytes: int | None
    sha256: str | None  # of the int8 ONNX file
    latency_ms: float | None  # ONNX Runtime, batch 1, one intra-op thread (`latency_measured`)
    fp32_latency_ms: float | None
    latency_measured: str | None
    # Added by a search's `quantization` section (absent from a model card):
    settings: Mapping[str, Any] | None = None  # `Settings.to_dict()`
    fp32_check: Mapping[str, Any] | None = None  # the fp32 ONNX check: max_abs_diff, agree
    seconds: float | None = None  # what quantizing and scoring took

    def to_dict(self) -> dict[str, Any]:
        """The block as stored; the search's fields only when it has them."""
        data = asdict(self)
        for name in ("settings", "fp32_check", "seconds"):
            if data[name] is None:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Int8Block:
        def number(key: str) -> float | None:
            return finite_number(data.get(key))

        def count(key: str) -> int | None:
            return whole_number(data.get(key))

        def text(key: str) -> str | None:
            return text_or_none(data.get(key))

        per_channel = data.get("per_channel")
        return cls(
            top1=number("top1"),
            top5=number("top5"),
            fp32_top1=number("fp32_top1"),
            fp32_top5=number("fp32_top5"),
            drop_top1_points=number("drop_top1_points"),
            images=count("images"),
            measured=text("measured"),
            format=text("format"),
            weights=text("weights"),
            activations=text("activations"),
            per_channel=per_channel if isinstance(per_channel, bool) else None,
            calibration_images=count("calibration_images"),
            calibration_split=text("calibration_split"),
            calibration_seed=count("calibration_seed"),
            calibration_method=text("calibration_method"),
            bytes=count("bytes"),
            fp32_bytes=count("fp32_bytes"),
            sha256=text("sha256"),
            latency_ms=number("latency_ms"),
            fp32_latency_ms=number("fp32_latency_ms"),
            latency_measured=text("latency_measured"),
            settings=mapping_or_none(data.get("settings")),
            fp32_check=mapping_or_none(data.get("fp32_check")),
            seconds=number("seconds"),
        )
