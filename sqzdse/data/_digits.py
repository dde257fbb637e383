"""`digits`: scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), embedded, no download.

The 0..16 grey levels are scaled to 0..255 and copied to three channels; `load_dataset` upsamples
the 8x8 images to the requested resolution. The set has no split of its own, so it is split three
ways per class with the fixed `SPLIT_SEED` (`split_pool`: 60% training, 20% validation, 20% test).
A horizontal flip changes a digit, so `flip_ok` is False.
"""

from __future__ import annotations

import numpy as np

from sqzdse.data._core import DataSpec, _constant, _Part, _register, _Source

_DIGITS_CLASSES = 10


@_register(
    "digits",
    num_classes=_constant(_DIGITS_CLASSES),
    flip_ok=False,
    summary="scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), no download",
)
def _load_digits(spec: DataSpec) -> _Source:
    from sklearn.datasets import load_digits

    digits = load_digits()
    grey = np.rint(digits.images * (255 / 16)).astype(np.uint8)  # pixel values are 0..16
    pool = _Part.of(grey[:, None], digits.target.astype(np.int64))
    return _Source(lambda: pool, None, _DIGITS_CLASSES)
