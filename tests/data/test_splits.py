"""The three splits of every registered set: disjoint, covering the pool, stratified, fixed, the
per-class limits thinning within a split, the validation share, and the test split read only by
`load_test_split`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sqzdse.data import (
    DATASETS,
    DataSpec,
    Splits,
    _core,
    clear_cache,
    load_dataset,
    load_test_split,
    split_pool,
)
from sqzdse.data._core import HELD_OUT_VAL_FRACTION, OFFICIAL_TEST, THREE_WAY, VAL_FRACTION
from sqzdse.errors import DataError
from tests.data.writers import WRITERS, rows

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py

# (train, val, test) images of each set as WRITERS writes it (digits: the real set), by hand with
# split_per_class's rule, max(1, round(fraction * n)) held out of a class of n >= 2:
# - digits: see tests/data/test_digits.py;
# - cifar10: 10 training images a class, round(10 / 6) = 2 held out; a 6-image test batch;
# - cifar100: 2 a class, round(2 / 6) = 0, so 1 held out; a 6-image test file;
# - tiny-imagenet, fashion-mnist, mnist: 3 a class, round(3 / 6) = 0, so 1; 6 test images;
# - folder: 5 a class, round(0.2 * 5) = 1 for test, then round(0.25 * 4) = 1 for validation.
SIZES = {
    "digits": (1079, 359, 359),
    "cifar10": (24, 6, 6),
    "cifar100": (3, 3, 6),
    "tiny-imagenet": (6, 3, 6),
    "folder": (9, 3, 3),
    "fashion-mnist": (6, 3, 6),
    "mnist": (6, 3, 6),
}
# The same with val_fraction=0.5: half of each class (round(1.5) = 2 of 3, 5 of 10, 1 of 2); for the
# three-way sets 0.5 / 0.8 = 0.625 of what test leaves, digits: 89, 91, 89, 91, 91, 91, 91, 89, 87,
# 90 of 142, 146, 142, 146, 145, 146, 145, 143, 139, 144; folder: round(2.5) = 2 of 4, 2 left.
HALF_SIZES = {
    "digits": (539, 899, 359),
    "cifar10": (15, 15, 6),
    "cifar100": (3, 3, 6),
    "tiny-imagenet": (3, 6, 6),
    "folder": (6, 6, 3),
    "fashion-mnist": (3, 6, 6),
    "mnist": (3, 6, 6),
}
CONVENTIONS = {name: THREE_WAY if name in ("digits", "folder") else OFFICIAL_TEST for name in SIZES}
# The files of the official test split, as WRITERS writes them (globs under the root).
TEST_FILES = {
    "cifar10": ["cifar-10-batches-py/test_batch"],
    "cifar100": ["cifar-100-python/test"],
    "tiny-imagenet": [
        "tiny-imagenet-200/val/val_annotations.txt",
        "tiny-imagenet-200/val/images/*",
    ],
    "fashion-mnist": ["t10k-*"],
    "mnist": ["t10k-*"],
}
NAMES = list(DATASETS)


def test_every_registered_set_is_covered_here():
    assert set(NAMES) == set(SIZES) == set(CONVENTIONS) == set(WRITERS)
    assert {n for n, c in CONVENTIONS.items() if c == OFFICIAL_TEST} == set(TEST_FILES)


def spec_of(name: str, root, **fields) -> DataSpec:
    """The spec of `name` at resolution 8, its small copy written under `root` first."""
    writer = WRITERS[name]
    if writer is not None and not any(root.iterdir()):
        writer(root)
    return DataSpec(name=name, root=None if writer is None else str(root), resolution=8, **fields)


def pool_and_test(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The pool's images and labels as the loader reads them, and the official test images."""
    source = DATASETS[spec.name].load(spec)
    pool = source.pool()
    pool_x = _core._images(pool, np.arange(len(pool.labels)), spec.resolution)
    if source.official_test is None:
        return pool_x, pool.labels, None
    test = source.official_test()
    return pool_x, pool.labels, _core._images(test, np.arange(len(test.labels)), spec.resolution)


def held_out(n: int, fraction: float) -> int:
    return max(1, round(fraction * n)) if n >= 2 else 0


# ---------------------------------------------------------------------------- split_pool


def test_split_pool_follows_the_rounding_rule():
    labels = np.repeat(np.arange(4), [1, 2, 6, 10])  # classes of 1, 2, 6 and 10 images
    train, val, test = split_pool(labels, convention=OFFICIAL_TEST, val_fraction=1 / 6)
    assert not len(test)
    # round(2 / 6) = 0 -> 1, round(1.0) = 1, round(1.67) = 2; a class of one keeps its image
    assert np.bincount(labels[val], minlength=4).tolist() == [0, 1, 1, 2]
    assert np.bincount(labels[train], minlength=4).tolist() == [1, 1, 5, 8]
    train, val, test = split_pool(labels, convention=THREE_WAY, val_fraction=0.2)
    # test: round(0.4) = 0 -> 1 of 2, round(1.2) = 1 of 6, round(2.0) = 2 of 10; then validation
    # 0.25 of what is left: none of 1, round(1.25) = 1 of 5, round(2.0) = 2 of 8
    assert np.bincount(labels[test], minlength=4).tolist() == [0, 1, 1, 2]
    assert np.bincount(labels[val], minlength=4).tolist() == [0, 0, 1, 2]
    assert np.bincount(labels[train], minlength=4).tolist() == [1, 1, 4, 6]
    parts = np.concatenate([train, val, test])
    assert sorted(parts.tolist()) == list(range(len(labels)))  # disjoint, and cover the pool
    for part in (train, val, test):
        assert part.tolist() == sorted(part.tolist())
    again = split_pool(labels, convention=THREE_WAY, val_fraction=0.2)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, val, test), strict=True))


# ---------------------------------------------------------------------------- every registered set


@pytest.mark.parametrize("name", NAMES)
def test_splits_are_disjoint_cover_the_pool_and_are_stratified(name, tmp_path):
    spec = spec_of(name, tmp_path)
    data = load_dataset(spec)
    test = load_test_split(spec)
    assert (len(data.train_y), len(data.val_y), len(test.y)) == SIZES[name]
    assert data.splits == Splits(CONVENTIONS[name], data.splits.val_fraction, *SIZES[name][:2])
    assert test.convention == CONVENTIONS[name]

    # every image is unique, so an image's bytes say which image it is
    pool_x, pool_y, official_x = pool_and_test(spec)
    pool = {r: int(y) for r, y in zip(map(bytes, pool_x.reshape(len(pool_x), -1)), pool_y)}
    assert len(pool) == len(pool_x)
    train, val, tested = rows(data.train_x.numpy()), rows(data.val_x.numpy()), rows(test.x.numpy())
    assert (len(train), len(val), len(tested)) == SIZES[name]  # no image twice within a split
    assert not train & val and not train & tested and not val & tested
    if CONVENTIONS[name] == OFFICIAL_TEST:
        assert train | val == set(pool)  # validation is drawn from the training images
        assert tested == rows(official_x) and len(official_x) == len(test.y)  # the whole test file
    else:
        assert train | val | tested == set(pool)
    # each image kept its label
    for x, y in ((data.train_x, data.train_y), (data.val_x, data.val_y)):
        assert [pool[r] for r in map(bytes, x.numpy().reshape(len(x), -1))] == y.tolist()
    if CONVENTIONS[name] == THREE_WAY:
        assert [pool[r] for r in map(bytes, test.x.numpy().reshape(len(test.x), -1))] == (
            test.y.tolist()
        )

    # stratified: each class's held-out share by the rounding rule
    per_class = np.bincount(pool_y, minlength=data.num_classes)
    val_counts = torch.bincount(data.val_y, minlength=data.num_classes).tolist()
    test_counts = torch.bincount(test.y, minlength=data.num_classes).tolist()
    if CONVENTIONS[name] == OFFICIAL_TEST:
        assert val_counts == [held_out(n, HELD_OUT_VAL_FRACTION) for n in per_class]
    else:
        assert test_counts == [held_out(n, 0.2) for n in per_class]
        left = per_class - np.array(test_counts)
        assert val_counts == [held_out(n, 0.25) for n in left]
    train_counts = torch.bincount(data.train_y, minlength=data.num_classes)
    assert (train_counts + torch.tensor(val_counts)).tolist() == (
        per_class - (np.array(test_counts) if CONVENTIONS[name] == THREE_WAY else 0)
    ).tolist()


@pytest.mark.parametrize("name", NAMES)
def test_splits_are_fixed_whatever_the_seed_and_the_limits(name, tmp_path):
    spec = spec_of(name, tmp_path)
    data, test = load_dataset(spec), load_test_split(spec)
    clear_cache()
    again, test_again = load_dataset(spec), load_test_split(spec)
    assert again is not data  # read again, not the cached copy
    for a, b in ((again.train_x, data.train_x), (again.val_x, data.val_x), (test_again.x, test.x)):
        assert torch.equal(a, b)
    other_seed = load_dataset(spec_of(name, tmp_path, seed=3))
    assert torch.equal(other_seed.train_x, data.train_x)
    assert torch.equal(other_seed.val_x, data.val_x)

    # the per-class limits thin out each split within itself, with the spec's seed
    for seed in (0, 1):
        limited = spec_of(name, tmp_path, train_per_class=1, val_per_class=1, seed=seed)
        thin = load_dataset(limited)
        assert rows(thin.train_x.numpy()) <= rows(data.train_x.numpy())
        assert rows(thin.val_x.numpy()) <= rows(data.val_x.numpy())
        classes = len(torch.unique(data.train_y))
        assert torch.bincount(thin.train_y).max() == 1 and len(thin.train_y) == classes
        assert len(thin.val_y) == len(torch.unique(data.val_y))
        assert thin.splits == Splits(
            CONVENTIONS[name], data.splits.val_fraction, len(thin.train_y), len(thin.val_y)
        )
        # the test split ignores the limits and their seed: every test image, every time
        limited_test = load_test_split(limited)
        assert torch.equal(limited_test.x, test.x) and torch.equal(limited_test.y, test.y)
        assert limited_test.convention == CONVENTIONS[name]


@pytest.mark.parametrize("name", NAMES)
def test_val_fraction_changes_the_validation_share_only(name, tmp_path):
    data = load_dataset(spec_of(name, tmp_path))
    default = HELD_OUT_VAL_FRACTION if CONVENTIONS[name] == OFFICIAL_TEST else VAL_FRACTION
    assert data.splits.val_fraction == default
    spec = spec_of(name, tmp_path, val_fraction=0.5)
    half = load_dataset(spec)
    test = load_test_split(spec)
    assert (len(half.train_y), len(half.val_y), len(test.y)) == HALF_SIZES[name]
    assert half.splits == Splits(CONVENTIONS[name], 0.5, *HALF_SIZES[name][:2])
    # the test split does not move; training and validation images are exchanged between them
    assert torch.equal(test.x, load_test_split(spec_of(name, tmp_path)).x)
    assert rows(half.train_x.numpy()) | rows(half.val_x.numpy()) == rows(
        data.train_x.numpy()
    ) | rows(data.val_x.numpy())


def test_digits_val_fraction_override():
    # 0.1 of the whole: 0.125 of the 142, 146, 142, 146, 145, 146, 145, 143, 139, 144 images a
    # class that test leaves: 18 each but 17 of 139
    data = load_dataset(DataSpec(val_fraction=0.1))
    assert torch.bincount(data.val_y).tolist() == [18] * 8 + [17, 18]
    assert (len(data.train_y), len(data.val_y)) == (1259, 179)
    assert data.splits == Splits(THREE_WAY, 0.1, 1259, 179)


@pytest.mark.parametrize("value", [0, 0.6, -0.1, 1, True, "x"])
def test_bad_val_fraction_is_refused(value):
    with pytest.raises(DataError, match=r"`val_fraction` must be None or a fraction in \(0, 0.5\]"):
        DataSpec(val_fraction=value)


def test_val_fraction_limits_are_accepted():
    assert DataSpec(val_fraction=0.5).val_fraction == 0.5
    assert DataSpec(val_fraction=np.float64(0.01)).val_fraction == 0.01


# ---------------------------------------------------------------------------- the test split


def spoil_test_images(name: str, root) -> None:
    """Overwrite each file of `name`'s test split with garbage, keeping the names: a read fails."""
    if name == "folder":  # the test images are those split_pool holds out, in loading order
        files = sorted(p for p in root.glob("*/*") if p.is_file())  # classes sorted, then files
        classes = sorted({p.parent.name for p in files})
        labels = np.array([classes.index(p.parent.name) for p in files])
        _, _, test = split_pool(labels, convention=THREE_WAY, val_fraction=VAL_FRACTION)
        spoilt = [files[i] for i in test]
    else:
        spoilt = [p for pattern in TEST_FILES.get(name, []) for p in root.glob(pattern)]
    assert len(spoilt) == {"digits": 0, "folder": 3, "tiny-imagenet": 7}.get(name, len(spoilt))
    assert spoilt or name == "digits"
    for path in spoilt:
        path.write_bytes(b"garbage, not the test split")


@pytest.mark.parametrize("name", NAMES)
def test_load_dataset_never_reads_the_test_split(name, tmp_path, monkeypatch):
    spec = spec_of(name, tmp_path)
    expected = load_dataset(spec)
    test = load_test_split(spec)
    clear_cache()
    spoil_test_images(name, tmp_path)

    def refuse(spec):
        raise AssertionError(f"the test split of {spec.name} was read")

    monkeypatch.setattr(_core, "_read_test", refuse)
    data = load_dataset(spec)
    assert torch.equal(data.train_x, expected.train_x) and torch.equal(data.val_x, expected.val_x)
    thin = load_dataset(spec_of(name, tmp_path, train_per_class=1, val_per_class=1))
    assert len(thin.val_y) > 0
    with pytest.raises(AssertionError, match="was read"):
        load_test_split(spec)  # the one way to the test images
    monkeypatch.undo()
    if name == "digits":
        assert torch.equal(load_test_split(spec).x, test.x)
    else:  # the spoilt files are what the test split reads
        with pytest.raises(DataError):
            load_test_split(spec)
