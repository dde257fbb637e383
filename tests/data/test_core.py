"""What every data set shares: each registered set loads, the registry, the spec, per-class limits
and the cache (on the embedded digits)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sqzdse.data import (
    DATASETS,
    DatasetEntry,
    DataSpec,
    clear_cache,
    dataset_num_classes,
    load_dataset,
    split_per_class,
    take_per_class,
)
from sqzdse.errors import DataError
from tests.data.writers import WRITERS

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


# ---------------------------------------------------------------------------- every registered set


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_registered_set_loads_as_uint8_tensors(name, tmp_path):
    writer = WRITERS[name]  # a new data set needs a writer there: this test covers it then
    if writer is not None:
        writer(tmp_path)
    spec = DataSpec(name=name, root=None if writer is None else str(tmp_path), resolution=16)
    data = load_dataset(spec)
    assert data.num_classes == dataset_num_classes(spec)
    for x, y in ((data.train_x, data.train_y), (data.val_x, data.val_y)):
        assert x.dtype == torch.uint8 and x.shape[1:] == (3, 16, 16) and x.device.type == "cpu"
        assert y.dtype == torch.int64 and y.shape == (len(x),) and len(x) > 0
        assert int(y.min()) >= 0 and int(y.max()) < data.num_classes
    assert len(data.mean) == len(data.std) == 3 and all(s > 0 for s in data.std)
    assert data.flip_ok == (name != "digits")


def test_registry_refuses_duplicates_and_lists_valid_names():
    entry = DATASETS["digits"]
    with pytest.raises(ValueError, match="already registered"):
        DATASETS.register(DatasetEntry("digits", entry.load, entry.num_classes, False, "again"))
    with pytest.raises(
        DataError,
        match=r"unknown data set 'imagenet'; valid data sets: digits, "
        r"cifar10, cifar100, tiny-imagenet, folder, fashion-mnist, mnist",
    ):
        load_dataset(DataSpec(name="imagenet"))
    assert "digits" in DATASETS and "imagenet" not in DATASETS and DATASETS.get("imagenet") is None


def test_search_help_names_every_registered_set():
    # `sqzdse search` lists the sets in a literal (its --help does not import torch); `train`
    # builds its list from DATASETS.
    from sqzdse.cli.search import search
    from sqzdse.cli.train import train

    for command in (search, train):
        (option,) = [p for p in command.params if p.name == "dataset"]
        listed = option.help.rstrip(".").replace(" or ", ", ").split(": ")[-1].split(", ")
        assert listed == list(DATASETS), command.name


# ---------------------------------------------------------------------------- shared steps


def test_per_class_limits_are_seeded():
    spec = DataSpec(train_per_class=4, val_per_class=2, resolution=8, seed=1)
    data = load_dataset(spec)
    assert torch.bincount(data.train_y).tolist() == [4] * 10
    assert torch.bincount(data.val_y).tolist() == [2] * 10
    clear_cache()
    assert torch.equal(load_dataset(spec).train_x, data.train_x)  # same seed, same images
    other = load_dataset(DataSpec(train_per_class=4, val_per_class=2, resolution=8, seed=2))
    assert not torch.equal(other.train_x, data.train_x)
    # thinning the training images out never changes the validation images
    assert torch.equal(
        load_dataset(DataSpec(val_per_class=2, resolution=8, seed=1)).val_x, data.val_x
    )


def test_load_dataset_is_cached_per_spec_and_device():
    spec = DataSpec(train_per_class=2, val_per_class=1, resolution=8)
    first = load_dataset(spec)
    assert load_dataset(spec, device=torch.device("cpu")) is first
    assert load_dataset(DataSpec(train_per_class=3, val_per_class=1, resolution=8)) is not first


def test_helpers_select_per_class():
    labels = np.array([0, 0, 0, 1, 1, 2])
    chosen = take_per_class(labels, 2, rng=np.random.default_rng(0))
    assert np.bincount(labels[chosen]).tolist() == [2, 2, 1] and list(chosen) == sorted(chosen)
    train, val = split_per_class(np.repeat(np.arange(3), 10))
    assert len(val) == 6 and not set(train) & set(val) and len(train) + len(val) == 30


@pytest.mark.parametrize(
    "field, value",
    [("resolution", 0), ("train_per_class", 0), ("seed", -1), ("val_per_class", 1.5)],
)
def test_data_spec_names_a_bad_field(field, value):
    with pytest.raises(DataError, match=f"`{field}`"):
        DataSpec(**{field: value})
