"""Small data sets written in each family's own layout on disk, for the tests of sqzdse.data."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
from PIL import Image

from sqzdse.data import CIFAR


def rows(x) -> set[bytes]:
    """The images of `x` (a tensor or array, one image per row) as a set of their bytes."""
    return {bytes(np.ascontiguousarray(np.asarray(image)).tobytes()) for image in x}


def cifar_images(n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 32x32 images (N x 3072, channel-major) whose first pixel byte encodes the label."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    data[:, 0] = labels * 10  # red channel, row 0, column 0
    return data, labels


def write_cifar_python(root, name: str, *, per_batch: int = 6) -> None:
    layout = CIFAR[name]
    folder = root / layout.python_dir
    folder.mkdir(parents=True)
    for i, batch in enumerate(layout.python_train + layout.python_val):
        data, labels = cifar_images(per_batch, seed=i)
        content = {
            b"batch_label": b"x",
            b"data": data,
            layout.label_key.encode(): labels.tolist(),
            b"filenames": [b"f.png"] * per_batch,
        }
        (folder / batch).write_bytes(pickle.dumps(content, protocol=2))  # as the Python 2 originals


def write_cifar_binary(root, name: str, *, per_batch: int = 6) -> None:
    layout = CIFAR[name]
    folder = root / layout.binary_dir
    folder.mkdir(parents=True)
    for i, batch in enumerate(layout.binary_train + layout.binary_val):
        data, labels = cifar_images(per_batch, seed=i)
        prefix = [np.full((per_batch, 1), 7, np.uint8)] * (layout.label_bytes - 1)  # coarse label
        records = np.concatenate([*prefix, labels[:, None].astype(np.uint8), data], axis=1)
        (folder / batch).write_bytes(records.tobytes())


def write_image(path, colour, size=(10, 10), fmt=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)


COLOURS = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]


def colour(label: int, number: int, *, channel: int = 1) -> tuple[int, int, int]:
    """COLOURS[label] with `number` written into another channel (12 levels apart, below 250): the
    dominant channel is still the class, and no two images of a class look alike."""
    rgb = list(COLOURS[label])
    rgb[(label + channel) % 3] = 12 * number % 240
    return tuple(rgb)


def write_tiny_imagenet(root, *, per_class: int = 3) -> None:
    base = root / "tiny-imagenet-200"
    wnids = ["n01443537", "n01629819", "n01641577"]
    for label, wnid in enumerate(wnids):
        for i in range(per_class):
            write_image(
                base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG",
                colour(label, i),
                size=(16, 16),
                fmt="JPEG",
            )
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    lines = []
    for label, wnid in enumerate(wnids):
        for i in range(2):
            name = f"val_{label}_{i}.JPEG"
            # the other free channel: no test image looks like a training image
            write_image(
                base / "val" / "images" / name,
                colour(label, i + 1, channel=2),
                size=(16, 16),
                fmt="JPEG",
            )
            lines.append(f"{name}\t{wnid}\t0\t0\t15\t15")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")


def write_folder(root, *, per_class: int = 5) -> None:
    for label, name in enumerate(["cat", "dog", "emu"]):
        for i in range(per_class):
            # not square, and in two formats: the loader crops the centre square
            write_image(
                root / name / f"{i}.{'png' if i % 2 else 'jpg'}", colour(label, i), size=(20, 12)
            )


def write_idx(path, array: np.ndarray, *, magic: int | None = None, gz: bool = False) -> None:
    """`array` (uint8) as an IDX file: the magic number (by default 0x0800 + its dimensions), one
    big-endian 32-bit size per dimension, then the bytes; gzip-compressed when `gz`."""
    magic = 0x0800 + array.ndim if magic is None else magic
    content = (
        struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()
    )
    path.write_bytes(gzip.compress(content) if gz else content)


def mnist_images(n: int, *, seed: int, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """n random grey size x size images whose first pixel encodes the label (classes 0..2)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
    images[:, 0, 0] = labels * 10
    return images, labels


def write_mnist(root, *, train: int = 9, val: int = 6, gz: bool = False) -> None:
    """The four files of the MNIST layout, as the official names, plain or .gz."""
    suffix = ".gz" if gz else ""
    for split, n, seed in (("train", train, 0), ("t10k", val, 1)):
        images, labels = mnist_images(n, seed=seed)
        write_idx(root / f"{split}-images-idx3-ubyte{suffix}", images, gz=gz)
        write_idx(root / f"{split}-labels-idx1-ubyte{suffix}", labels, gz=gz)


# Every registered set by name: None for an embedded set, else a writer of a small copy into a
# folder. A new data set needs a writer here: tests/data/test_core.py loads every set in DATASETS.
WRITERS = {
    "digits": None,
    "cifar10": lambda root: write_cifar_python(root, "cifar10"),
    "cifar100": lambda root: write_cifar_python(root, "cifar100"),
    "tiny-imagenet": write_tiny_imagenet,
    "folder": write_folder,
    "fashion-mnist": lambda root: write_mnist(root, gz=True),
    "mnist": write_mnist,
}
