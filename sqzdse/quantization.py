"""int8 post-training quantization: its settings (no torch). `sqzdse.deploy` does the work
(`measure_int8`: export to ONNX, quantize with ONNX Runtime, score on the validation images) for
`sqzdse export-model --int8` and for a search space's `quantization` section alike.

The quantization itself is fixed: QDQ format, int8 weights per output channel, int8 activations
per tensor (S8S8), ranges from each tensor's minimum and maximum over the calibration images, which
are training images drawn without replacement with `CALIBRATION_SEED`. What may be set is how many.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqzdse.errors import SqzdseError

__all__ = ["CALIBRATION_SEED", "DEFAULT_CALIBRATION_IMAGES", "Settings"]

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
