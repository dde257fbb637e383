"""`fashion-mnist`, `mnist`: the MNIST layout, four IDX files in one folder.

The folder holds, each plain or gzip-compressed (the same name plus `.gz`):

    train-images-idx3-ubyte   t10k-images-idx3-ubyte    N x 28 x 28 grey images (uint8)
    train-labels-idx1-ubyte   t10k-labels-idx1-ubyte    N labels, 0..9 (uint8)

MNIST, KMNIST and Fashion-MNIST ship under these names (so does torchvision's `<set>/raw/` folder).
IDX is big-endian: a magic number (2051 = 0x00000803, unsigned bytes in 3 dimensions, for images;
2049 = 0x00000801, 1 dimension, for labels), one 32-bit size per dimension, then the bytes. A file
that starts with gzip's magic bytes (1f 8b) is decompressed whatever its name, and one that does not
is read as it is, also when named `.gz` (a browser may have unpacked it already).

- `fashion-mnist` reads `DataSpec.root` (--data-root) or, without one, `FASHION_MNIST_ROOT`, where
  Debian's package `dataset-fashion-mnist` installs the official files. Its classes, in label order:
  T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot (`Dataset`
  carries no class names).
- `mnist` reads any folder in this layout from `DataSpec.root`; it needs one. Labels must lie in
  0..9 (EMNIST's letter splits have more classes and are refused).

The official 10,000-image test split (t10k) is the test split, read only by `load_test_split`;
the validation split is drawn from the 60,000 training images (`HELD_OUT_VAL_FRACTION` of each
class: 10,000). Grey is copied to three channels, as for digits. Horizontal flips are allowed
(`flip_ok`) for both: a standard augmentation for Fashion-MNIST's clothes, less so for digits and
characters (MNIST, KMNIST), where a flip can change the class; `TrainConfig(flip=False)` turns
them off for a run.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from sqzdse.data._core import DataSpec, _check_root, _constant, _Part, _register, _Source
from sqzdse.errors import DataError

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_SITE = "https://github.com/zalandoresearch/fashion-mnist"
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_MNIST_CLASSES = 10
_IMAGES_MAGIC = 0x00000803  # 2051: unsigned bytes, 3 dimensions (count, rows, columns)
_LABELS_MAGIC = 0x00000801  # 2049: unsigned bytes, 1 dimension (count)
_GZIP_MAGIC = b"\x1f\x8b"

_LAYOUT = (
    f"the four IDX files {', '.join(MNIST_FILES)}, each plain or .gz "
    "(MNIST, KMNIST and Fashion-MNIST use these names)"
)
_FASHION_SOURCES = (
    f"Debian's package {FASHION_MNIST_PACKAGE} installs the four files in {FASHION_MNIST_ROOT} "
    f"(apt-get install {FASHION_MNIST_PACKAGE}); the official files from {FASHION_MNIST_SITE}, "
    "with the same names, also work: pass their folder with --data-root"
)


def _expected(spec: DataSpec) -> str:
    return f"{_LAYOUT}; {_FASHION_SOURCES}" if spec.name == "fashion-mnist" else _LAYOUT


def _mnist_folder(spec: DataSpec) -> Path:
    if spec.name == "fashion-mnist" and spec.root is None:
        folder = Path(FASHION_MNIST_ROOT)
        if not folder.is_dir():
            raise DataError(
                f"the fashion-mnist data set is read from {folder} when no --data-root is "
                f"given, and that folder does not exist; {_FASHION_SOURCES}"
            )
        return folder
    return _check_root(spec, _expected(spec))


def _find_files(spec: DataSpec, folder: Path) -> list[Path]:
    """The four files, plain or .gz (plain first); one DataError naming every missing one."""
    found: list[Path] = []
    missing: list[str] = []
    for name in MNIST_FILES:
        path = next((p for p in (folder / name, folder / f"{name}.gz") if p.is_file()), None)
        if path is None:
            missing.append(f"{name} (or {name}.gz)")
        else:
            found.append(path)
    if missing:
        raise DataError(
            f"the {spec.name} data set lacks {', '.join(missing)} in {folder}; "
            f"expected there {_expected(spec)}"
        )
    return found


def _read_bytes(path: Path) -> tuple[bytes, str]:
    """The file's bytes, decompressed when they start with gzip's magic bytes; a note if so."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw, ""
    try:
        return gzip.decompress(raw), " once decompressed"
    except (EOFError, OSError, zlib.error) as err:  # cut short, or corrupt
        raise DataError(
            f"{path} is a truncated or damaged gzip file ({err}); fetch it again"
        ) from None


def _read_idx(path: Path, *, magic: int, what: str) -> np.ndarray:
    """The uint8 array of one IDX file whose magic number must be `magic`; DataError otherwise."""
    raw, note = _read_bytes(path)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) >= 4:
        (found,) = struct.unpack(">I", raw[:4])
        if found != magic:
            raise DataError(
                f"{path} is not an IDX {what} file: its magic number is {found} "
                f"(0x{found:08X}), expected {magic} (0x{magic:08X}: unsigned bytes in "
                f"{ndim} dimension{'s' if ndim > 1 else ''})"
            )
    if len(raw) < header:
        raise DataError(
            f"{path} is truncated: an IDX {what} file starts with a {header}-byte header, "
            f"and the file holds {len(raw)} bytes{note}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(
            f"{path} is {state}: its header says {' x '.join(map(str, shape))} {what}, "
            f"{expected:,} bytes with the {header}-byte header, but the file holds "
            f"{len(raw):,} bytes{note}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _read_split(folder: Path, images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x = _read_idx(images, magic=_IMAGES_MAGIC, what="images")
    y = _read_idx(labels, magic=_LABELS_MAGIC, what="labels")
    if len(x) != len(y):
        raise DataError(
            f"{images.name} holds {len(x):,} images but {labels.name} holds {len(y):,} labels "
            f"(in {folder}); the images and labels of a split must match one to one"
        )
    if x.shape[1] != x.shape[2]:
        raise DataError(f"{images} holds {x.shape[1]}x{x.shape[2]} images; expected square ones")
    if y.size and y.max() >= _MNIST_CLASSES:  # uint8: never below 0
        raise DataError(
            f"labels in {labels} must lie in 0..{_MNIST_CLASSES - 1}, found {y.min()}..{y.max()}"
        )
    return x, y.astype(np.int64)


def _load_mnist(spec: DataSpec) -> _Source:
    folder = _mnist_folder(spec)
    train_images, train_labels, test_images, test_labels = _find_files(spec, folder)

    def grey_part(images: Path, labels: Path) -> _Part:
        x, y = _read_split(folder, images, labels)
        return _Part.of(x[:, None], y)  # one channel: core copies it to three once resized

    return _Source(
        lambda: grey_part(train_images, train_labels),
        lambda: grey_part(test_images, test_labels),
        _MNIST_CLASSES,
    )


_register(
    "fashion-mnist",
    num_classes=_constant(_MNIST_CLASSES),
    flip_ok=True,
    summary=f"Fashion-MNIST (70,000 grey 28x28 images, 10 classes) from --data-root or "
    f"{FASHION_MNIST_ROOT} (Debian package {FASHION_MNIST_PACKAGE})",
)(_load_mnist)
_register(
    "mnist",
    num_classes=_constant(_MNIST_CLASSES),
    flip_ok=True,
    summary="any MNIST-layout folder of IDX files (MNIST, KMNIST, Fashion-MNIST) from --data-root",
)(_load_mnist)
