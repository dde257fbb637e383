"""`folder`: any local folder (--data-root) with one sub-folder of images per class.

    <root>/<class>/*.jpg, *.png, ...    the sorted sub-folder names are the labels

Files with a suffix in `IMAGE_SUFFIXES` count as images; other files, and hidden files and
folders, are skipped. Every image is cropped to its centre square. The set has no split of its own,
so it is split three ways per class with the fixed `SPLIT_SEED` (`split_pool`: 60% training, 20%
validation, 20% test): a class needs three or more images to have one in each split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sqzdse.data._core import DataSpec, _check_root, _register, _Source
from sqzdse.data._images import IMAGE_SUFFIXES, _files_part, _image_files, _subfolders
from sqzdse.errors import DataError

_FOLDER_EXPECTED = (
    "one sub-folder of images per class, e.g. <root>/cat/*.jpg and "
    f"<root>/dog/*.png ({', '.join(IMAGE_SUFFIXES)})"
)


def _folder_classes(spec: DataSpec) -> tuple[Path, list[str]]:
    root = _check_root(spec, _FOLDER_EXPECTED)
    classes = _subfolders(root)
    if not classes:
        raise DataError(f"{root} has no class sub-folders; expected {_FOLDER_EXPECTED}")
    return root, classes


@_register(
    "folder",
    num_classes=lambda spec: len(_folder_classes(spec)[1]),
    flip_ok=True,
    summary="any image folder with one sub-folder per class, split 60/20/20 per class",
)
def _load_folder(spec: DataSpec) -> _Source:
    root, classes = _folder_classes(spec)
    files: list[Path] = []
    labels: list[int] = []
    empty: list[str] = []
    for label, name in enumerate(classes):
        found = _image_files(root / name)
        if not found:
            empty.append(name)
        files += found
        labels += [label] * len(found)
    if empty:
        raise DataError(
            f"class folder(s) with no images in {root}: {', '.join(empty)}; "
            f"expected {_FOLDER_EXPECTED}"
        )
    label_array = np.array(labels, dtype=np.int64)
    return _Source(lambda: _files_part(spec, files, label_array), None, len(classes))
