"""`fashion-mnist`, `mnist`: IDX files plain and gzipped, per-class limits, one message per bad
file, and the real Fashion-MNIST files of Debian's dataset-fashion-mnist (required in CI)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from sqzdse.data import (
    DATASETS,
    DataSpec,
    _mnist,
    dataset_num_classes,
    load_dataset,
    load_test_split,
    split_pool,
)
from sqzdse.data._core import HELD_OUT_VAL_FRACTION, OFFICIAL_TEST
from sqzdse.errors import DataError
from sqzdse.space import load_space
from tests import ci
from tests.data.writers import mnist_images, rows, write_idx, write_mnist

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py

REAL = Path(_mnist.FASHION_MNIST_ROOT)


def mnist(root, **spec) -> DataSpec:
    return DataSpec(name="mnist", root=str(root), **spec)


def held_out(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices into the training file: a sixth of each class held out."""
    train, val, test = split_pool(
        labels, convention=OFFICIAL_TEST, val_fraction=HELD_OUT_VAL_FRACTION
    )
    assert not len(test)
    return train, val


# ---------------------------------------------------------------------------- reading


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mnist_reads_idx_files(tmp_path, gz):
    write_mnist(tmp_path, gz=gz)
    data = load_dataset(mnist(tmp_path, resolution=8))  # the files' own size: no resize
    images, labels = mnist_images(9, seed=0)
    train, val = held_out(labels)
    assert train.tolist() == [0, 1, 2, 3, 4, 5] and val.tolist() == [6, 7, 8]  # 1 of 3 per class
    assert data.num_classes == 10 and data.flip_ok
    assert data.train_x.shape == (6, 3, 8, 8) and data.val_x.shape == (3, 3, 8, 8)
    # training and validation images both come from the training files
    assert data.train_y.tolist() == labels[train].tolist()
    assert data.val_y.tolist() == labels[val].tolist()
    for channel in range(3):  # grey copied to three channels
        assert data.train_x[:, channel].numpy().tolist() == images[train].tolist()
        assert data.val_x[:, channel].numpy().tolist() == images[val].tolist()
    test = load_test_split(mnist(tmp_path, resolution=8))  # t10k: the test split
    test_images, test_labels = mnist_images(6, seed=1)
    assert test.x.shape == (6, 3, 8, 8) and test.convention == OFFICIAL_TEST
    assert test.y.tolist() == test_labels.tolist()
    for channel in range(3):
        assert test.x[:, channel].numpy().tolist() == test_images.tolist()


def test_gzip_is_recognised_by_its_magic_bytes_not_its_name(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").rename(tmp_path / "t10k-images-idx3-ubyte.gz")  # plain
    images, _ = mnist_images(9, seed=0)
    write_idx(tmp_path / "train-images-idx3-ubyte", images, gz=True)  # gzip without .gz
    data = load_dataset(mnist(tmp_path, resolution=8))
    train, val = held_out(mnist_images(9, seed=0)[1])
    assert data.train_x[:, 0].numpy().tolist() == images[train].tolist()
    assert data.val_x[:, 0].numpy().tolist() == images[val].tolist()
    test = load_test_split(mnist(tmp_path, resolution=8))
    assert test.x[:, 0].numpy().tolist() == mnist_images(6, seed=1)[0].tolist()


def test_resized_to_the_resolution_with_three_equal_channels(tmp_path):
    write_mnist(tmp_path)
    data = load_dataset(mnist(tmp_path, resolution=20))
    test = load_test_split(mnist(tmp_path, resolution=20))
    assert data.train_x.shape == (6, 3, 20, 20) and data.val_x.shape == (3, 3, 20, 20)
    assert test.x.shape == (6, 3, 20, 20)
    for x in (data.train_x, data.val_x, test.x):
        assert torch.equal(x[:, 0], x[:, 1])
        assert torch.equal(x[:, 0], x[:, 2])
    assert data.mean[0] == data.mean[1] == data.mean[2]


def test_per_class_limits_thin_train_and_validation(tmp_path):
    # classes 0..2: 20 training images each, round(20 / 6) = 3 of them held out for validation
    write_mnist(tmp_path, train=60, val=12)
    full = load_dataset(mnist(tmp_path, resolution=8))
    assert torch.bincount(full.train_y).tolist() == [17, 17, 17]
    assert torch.bincount(full.val_y).tolist() == [3, 3, 3]
    data = load_dataset(mnist(tmp_path, resolution=8, train_per_class=3, val_per_class=2, seed=1))
    assert torch.bincount(data.train_y).tolist() == [3, 3, 3]
    assert torch.bincount(data.val_y).tolist() == [2, 2, 2]
    assert data.splits.train == 9 and data.splits.val == 6
    for x, y in ((data.train_x, data.train_y), (data.val_x, data.val_y)):
        assert (x[:, 0, 0, 0] == y * 10).all()  # each image kept its label
    # thinning keeps images of its own split: the split itself does not move
    assert rows(data.train_x) <= rows(full.train_x) and rows(data.val_x) <= rows(full.val_x)
    # thinning the training images never changes the validation images
    assert torch.equal(
        load_dataset(mnist(tmp_path, resolution=8, val_per_class=2, seed=1)).val_x, data.val_x
    )
    other = load_dataset(mnist(tmp_path, resolution=8, train_per_class=3, seed=2))
    assert not torch.equal(other.train_x, data.train_x)


def test_fashion_mnist_reads_the_default_folder_without_a_root(tmp_path, monkeypatch):
    write_mnist(tmp_path, gz=True)
    monkeypatch.setattr(_mnist, "FASHION_MNIST_ROOT", str(tmp_path))
    data = load_dataset(DataSpec(name="fashion-mnist", resolution=8))
    assert (len(data.train_y), len(data.val_y)) == (6, 3) and data.flip_ok
    assert len(load_test_split(DataSpec(name="fashion-mnist", resolution=8)).y) == 6


def test_fashion_space_trains_on_fashion_mnist():
    spec = load_space("fashion").training.data_spec()
    assert spec.name == "fashion-mnist" and spec.name in DATASETS and spec.root is None
    assert dataset_num_classes(spec) == 10


# ---------------------------------------------------------------------------- bad files


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_wrong_magic_number_says_what_was_expected(tmp_path, gz):
    write_mnist(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    images, labels = mnist_images(9, seed=0)
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, magic=0x0801, gz=gz)
    with pytest.raises(
        DataError,
        match=rf"train-images-idx3-ubyte{suffix} is not an IDX images file: its magic number is "
        r"2049 \(0x00000801\), expected 2051 \(0x00000803: unsigned bytes in 3 dimensions\)",
    ):
        load_dataset(mnist(tmp_path))
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, gz=gz)
    (tmp_path / f"train-labels-idx1-ubyte{suffix}").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(
        DataError,
        match=r"train-labels-idx1-ubyte.* is not an IDX labels file: its magic number is "
        r"2303741511 \(0x89504E47\), expected 2049 \(0x00000801: unsigned bytes in 1 dimension\)",
    ):
        load_dataset(mnist(tmp_path))


def test_truncated_data_gives_expected_and_actual_bytes(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    assert len(load_dataset(mnist(tmp_path)).val_y) == 3  # the test file is not read for it
    with pytest.raises(
        DataError,
        match=r"t10k-images-idx3-ubyte is truncated: its header says 6 x 8 x 8 images, 400 bytes "
        r"with the 16-byte header, but the file holds 395 bytes$",
    ):
        load_test_split(mnist(tmp_path))
    path.write_bytes(gzip.compress(path.read_bytes()))  # the same, compressed
    with pytest.raises(DataError, match=r"the file holds 395 bytes once decompressed$"):
        load_test_split(mnist(tmp_path))
    path.write_bytes(struct.pack(">II", 0x0803, 6))  # the header itself cut short
    with pytest.raises(
        DataError,
        match=r"t10k-images-idx3-ubyte is truncated: an IDX images file starts with a 16-byte "
        r"header, and the file holds 8 bytes",
    ):
        load_test_split(mnist(tmp_path))
    images, _ = mnist_images(6, seed=1)
    path.write_bytes(gzip.compress(struct.pack(">4I", 0x0803, 6, 8, 8) + images.tobytes())[:-10])
    with pytest.raises(
        DataError, match=r"t10k-images-idx3-ubyte is a truncated or damaged gzip file \("
    ):
        load_test_split(mnist(tmp_path))


def test_extra_bytes_are_refused(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\0\0")
    with pytest.raises(
        DataError,
        match=r"train-labels-idx1-ubyte is longer than its header says: its header says 9 labels, "
        r"17 bytes with the 8-byte header, but the file holds 19 bytes",
    ):
        load_dataset(mnist(tmp_path))


def test_image_and_label_counts_must_match(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8))
    assert len(load_dataset(mnist(tmp_path)).val_y) == 3  # the test files are not read for it
    with pytest.raises(
        DataError,
        match=r"t10k-images-idx3-ubyte holds 6 images but t10k-labels-idx1-ubyte holds 5 labels "
        r"\(in .*\); the images and labels of a split must match one to one",
    ):
        load_test_split(mnist(tmp_path))


def test_labels_outside_0_to_9(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 3, 12, 4], np.uint8))
    assert len(load_dataset(mnist(tmp_path)).val_y) == 3  # the test files are not read for it
    with pytest.raises(
        DataError, match=r"labels in .*t10k-labels-idx1-ubyte must lie in 0..9, found 0..12"
    ):
        load_test_split(mnist(tmp_path))


def test_non_square_images_are_refused(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((9, 8, 6), np.uint8))
    with pytest.raises(DataError, match=r"holds 8x6 images; expected square ones"):
        load_dataset(mnist(tmp_path))


def test_missing_files_name_the_file_the_folder_and_the_package(tmp_path, monkeypatch):
    write_mnist(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as missing:
        load_dataset(mnist(tmp_path))
    assert str(missing.value) == (
        f"the mnist data set lacks t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) in "
        f"{tmp_path}; expected there the four IDX files train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or "
        ".gz (MNIST, KMNIST and Fashion-MNIST use these names)"
    )
    with pytest.raises(
        DataError,
        match=r"the fashion-mnist data set lacks t10k-labels-idx1-ubyte \(or "
        r"t10k-labels-idx1-ubyte.gz\) in .*; Debian's package dataset-fashion-mnist installs the "
        r"four files in /usr/share/datasets/fashion-mnist \(apt-get install "
        r"dataset-fashion-mnist\); the official files from "
        r"https://github.com/zalandoresearch/fashion-mnist, with the same names, also work: "
        r"pass their folder with --data-root$",
    ):
        load_dataset(DataSpec(name="fashion-mnist", root=str(tmp_path)))
    with pytest.raises(DataError, match=r"pass its location with --data-root"):
        load_dataset(DataSpec(name="mnist"))  # mnist has no default folder
    with pytest.raises(DataError, match=r"data folder .*nowhere does not exist"):
        load_dataset(mnist(tmp_path / "nowhere"))
    monkeypatch.setattr(_mnist, "FASHION_MNIST_ROOT", str(tmp_path / "absent"))
    with pytest.raises(
        DataError,
        match=r"the fashion-mnist data set is read from .*absent when no --data-root is given, "
        r"and that folder does not exist; Debian's package dataset-fashion-mnist installs the "
        r"four files in",
    ):
        load_dataset(DataSpec(name="fashion-mnist"))


# ---------------------------------------------------------------------------- the real files


def fashion_mnist_or_skip(env=None, folder: Path = REAL) -> Path:
    """The folder of the real Fashion-MNIST files. Without them the test is skipped with the
    reason, or fails when `CI` is "true": CI installs Debian's dataset-fashion-mnist (.ci/run)."""
    missing = [n for n in _mnist.MNIST_FILES if not (folder / f"{n}.gz").is_file()]
    if not missing:
        return folder
    message = (
        f"no Fashion-MNIST files in {folder} (missing {', '.join(n + '.gz' for n in missing)}): "
        "apt-get install dataset-fashion-mnist"
    )
    ci.missing(message, on_ci="where .ci/run installs them", env=env)


def test_missing_real_files_skip_outside_ci_and_fail_in_ci(tmp_path):
    with pytest.raises(pytest.skip.Exception, match="apt-get install dataset-fashion-mnist$"):
        fashion_mnist_or_skip({"CI": "1"}, tmp_path)
    with pytest.raises(pytest.fail.Exception, match="where .ci/run installs them"):
        fashion_mnist_or_skip({"CI": "true"}, tmp_path)


def idx_counts(path: Path) -> tuple[int, ...]:
    with gzip.open(path) as f:
        magic, count = struct.unpack(">II", f.read(8))
    return magic, count


def test_real_fashion_mnist_files():
    folder = fashion_mnist_or_skip()
    assert idx_counts(folder / "train-images-idx3-ubyte.gz") == (2051, 60_000)
    assert idx_counts(folder / "train-labels-idx1-ubyte.gz") == (2049, 60_000)
    assert idx_counts(folder / "t10k-images-idx3-ubyte.gz") == (2051, 10_000)
    assert idx_counts(folder / "t10k-labels-idx1-ubyte.gz") == (2049, 10_000)
    data = load_dataset(DataSpec(name="fashion-mnist", train_per_class=5, val_per_class=3))
    assert data.num_classes == 10 and data.flip_ok
    assert data.train_x.shape == (50, 3, 32, 32) and data.val_x.shape == (30, 3, 32, 32)
    assert torch.bincount(data.train_y).tolist() == [5] * 10
    assert torch.bincount(data.val_y).tolist() == [3] * 10
    assert torch.equal(data.train_x[:, 0], data.train_x[:, 2])
    assert 0.1 < data.mean[0] < 0.5
    assert data.splits.to_dict() == {
        "convention": OFFICIAL_TEST,
        "val_fraction": 1 / 6,
        "train": 50,
        "val": 30,
    }
    # the t10k files are the test split, whole: the per-class limits do not apply
    test = load_test_split(DataSpec(name="fashion-mnist", train_per_class=5, val_per_class=3))
    assert test.x.shape == (10_000, 3, 32, 32) and test.convention == OFFICIAL_TEST
    assert torch.bincount(test.y).tolist() == [1000] * 10
    # validation: a sixth of each class of the 60,000 training images, 1,000 of 6,000
    full = load_dataset(DataSpec(name="fashion-mnist"))
    assert full.train_x.shape == (50_000, 3, 32, 32) and full.val_x.shape == (10_000, 3, 32, 32)
    assert torch.bincount(full.train_y).tolist() == [5000] * 10
    assert torch.bincount(full.val_y).tolist() == [1000] * 10
    assert (full.splits.train, full.splits.val) == (50_000, 10_000)
    assert int(full.train_x.max()) == 255 and int(full.train_x.min()) == 0
    # the thinned-out load kept images of the full load's splits
    assert rows(data.train_x) <= rows(full.train_x) and rows(data.val_x) <= rows(full.val_x)
