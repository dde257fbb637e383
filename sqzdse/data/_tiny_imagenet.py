"""`tiny-imagenet`: Tiny ImageNet (200 classes, 64x64 JPEGs) from a local folder (--data-root).

The tiny-imagenet-200 layout, in the folder itself or in its tiny-imagenet-200/ sub-folder:

    train/<wnid>/images/*.JPEG    one folder of images per class; the sorted wnids are the labels
    val/val_annotations.txt       one line per validation image: its file name, its wnid, then
                                  the bounding box, separated by tabs
    val/images/<file name>        the validation images that val_annotations.txt names

The labelled val/ images are the test split, read only by `load_test_split`; the validation split
is drawn from the training images (`HELD_OUT_VAL_FRACTION` of each class). The official test/
folder has no labels and is not read; train/<wnid>/<wnid>_boxes.txt and
wnids.txt are ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sqzdse.data._core import DataSpec, _check_root, _Part, _register, _Source
from sqzdse.data._images import _files_part, _image_files, _subfolders
from sqzdse.errors import DataError

_TINY_EXPECTED = (
    "the tiny-imagenet-200 layout: train/<wnid>/images/*.JPEG and val/images/* with "
    "val/val_annotations.txt (in the folder itself or in tiny-imagenet-200/)"
)


def _tiny_base(spec: DataSpec) -> Path:
    root = _check_root(spec, _TINY_EXPECTED)
    for base in (root / "tiny-imagenet-200", root):
        if (base / "train").is_dir():
            return base
    raise DataError(
        f"no Tiny ImageNet data in {root}: {root / 'train'} is missing; expected {_TINY_EXPECTED}"
    )


def _tiny_classes(base: Path) -> list[str]:
    wnids = _subfolders(base / "train")
    if not wnids:
        raise DataError(f"{base / 'train'} has no class folders; expected {_TINY_EXPECTED}")
    return wnids


@_register(
    "tiny-imagenet",
    num_classes=lambda spec: len(_tiny_classes(_tiny_base(spec))),
    flip_ok=True,
    summary="Tiny ImageNet (200 classes, 64x64) from --data-root",
)
def _load_tiny_imagenet(spec: DataSpec) -> _Source:
    base = _tiny_base(spec)
    wnids = _tiny_classes(base)
    train_files, train_labels = [], []
    for label, wnid in enumerate(wnids):
        folder = base / "train" / wnid / "images"
        if not folder.is_dir():
            raise DataError(f"{folder} is missing; expected {_TINY_EXPECTED}")
        files = _image_files(folder)
        if not files:
            raise DataError(f"class {wnid} has no images in {folder}")
        train_files += files
        train_labels += [label] * len(files)

    annotations = base / "val" / "val_annotations.txt"
    if not annotations.is_file():
        raise DataError(f"{annotations} is missing; expected {_TINY_EXPECTED}")
    return _Source(
        lambda: _files_part(spec, train_files, np.array(train_labels, dtype=np.int64)),
        lambda: _test_part(spec, base, annotations, wnids),
        len(wnids),
    )


def _test_part(spec: DataSpec, base: Path, annotations: Path, wnids: list[str]) -> _Part:
    index = {wnid: i for i, wnid in enumerate(wnids)}
    val_files, val_labels = [], []
    for number, line in enumerate(annotations.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in index:
            raise DataError(
                f"{annotations} line {number} must be '<file>\\t<wnid>\\t...' naming "
                f"one of the {len(wnids)} classes in {base / 'train'}, "
                f"got {line.strip()!r}"
            )
        val_files.append(base / "val" / "images" / fields[0])
        val_labels.append(index[fields[1]])
    if not val_files:
        raise DataError(f"{annotations} lists no validation images")
    return _files_part(spec, val_files, np.array(val_labels, dtype=np.int64))
