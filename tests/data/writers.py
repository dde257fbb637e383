"""Small data sets written in each family's own layout on disk, for the tests of sqzdse.data."""

from __future__ import annotations

import pickle

import numpy as np
from PIL import Image

from sqzdse.data import CIFAR


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


def write_tiny_imagenet(root, *, per_class: int = 3) -> None:
    base = root / "tiny-imagenet-200"
    wnids = ["n01443537", "n01629819", "n01641577"]
    for label, wnid in enumerate(wnids):
        for i in range(per_class):
            write_image(
                base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG",
                COLOURS[label],
                size=(16, 16),
                fmt="JPEG",
            )
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    lines = []
    for label, wnid in enumerate(wnids):
        for i in range(2):
            name = f"val_{label}_{i}.JPEG"
            write_image(base / "val" / "images" / name, COLOURS[label], size=(16, 16), fmt="JPEG")
            lines.append(f"{name}\t{wnid}\t0\t0\t15\t15")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")


def write_folder(root, *, per_class: int = 5) -> None:
    for label, name in enumerate(["cat", "dog", "emu"]):
        for i in range(per_class):
            # not square, and in two formats: the loader crops the centre square
            write_image(
                root / name / f"{i}.{'png' if i % 2 else 'jpg'}", COLOURS[label], size=(20, 12)
            )


# Every registered set by name: None for an embedded set, else a writer of a small copy into a
# folder. A new data set needs a writer here: tests/data/test_core.py loads every set in DATASETS.
WRITERS = {
    "digits": None,
    "cifar10": lambda root: write_cifar_python(root, "cifar10"),
    "cifar100": lambda root: write_cifar_python(root, "cifar100"),
    "tiny-imagenet": write_tiny_imagenet,
    "folder": write_folder,
}
