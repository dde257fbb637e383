"""`digits`: scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), embedded, no download.

The 0..16 grey levels are scaled to 0..255 and copied to three channels; `load_dataset` upsamples
the 8x8 images to the requested resolution. The set has no validation split of its own, so 20% of
each class is held out with the fixed `SPLIT_SEED` (`split_per_class`). A horizontal flip changes
a digit, so `flip_ok` is False.
"""

from __future__ import annotations

import numpy as np

from sqzdse.data._core import DataSpec, _Arrays, _constant, _register, _thin, split_per_class

_DIGITS_CLASSES = 10


@_register(
    "digits",
    num_classes=_constant(_DIGITS_CLASSES),
    flip_ok=False,
    summary="scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), no download",
)
def _load_digits(spec: DataSpec) -> _Arrays:
    from sklearn.datasets import load_digits

    digits = load_digits()
    grey = np.rint(digits.images * (255 / 16)).astype(np.uint8)  # pixel values are 0..16
    x = np.repeat(grey[:, None], 3, axis=1)
    y = digits.target.astype(np.int64)
    train, val = split_per_class(y)
    keep_train, keep_val = _thin(spec, y[train], y[val])
    train, val = train[keep_train], val[keep_val]
    return _Arrays(x[train], y[train], x[val], y[val], _DIGITS_CLASSES)
