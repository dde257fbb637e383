"""`digits`: the embedded set, its fixed three-way per-class split and the upsampling."""

from __future__ import annotations

import pytest
import torch

from sqzdse.data import DataSpec, load_dataset, load_test_split
from sqzdse.data._core import THREE_WAY

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def test_digits_split_is_fixed_stratified_and_upsampled():
    data = load_dataset(DataSpec())
    test = load_test_split(DataSpec())
    # 1,797 images, classes of 178, 182, 177, 183, 181, 182, 181, 179, 174, 180: test holds
    # round(0.2 n) of each class, then validation round(0.25 m) of the m left (0.2 of the whole)
    assert (len(data.train_y), len(data.val_y), len(test.y)) == (1079, 359, 359)
    assert torch.bincount(test.y).tolist() == [36, 36, 35, 37, 36, 36, 36, 36, 35, 36]
    assert torch.bincount(data.val_y).tolist() == [36] * 8 + [35, 36]
    train_counts = [106, 110, 106, 110, 109, 110, 109, 107, 104, 108]  # the rest
    assert torch.bincount(data.train_y).tolist() == train_counts
    assert data.splits.to_dict() == {
        "convention": THREE_WAY,
        "val_fraction": 0.2,
        "train": 1079,
        "val": 359,
    }
    assert test.convention == THREE_WAY
    assert data.train_x.shape[1:] == test.x.shape[1:] == (3, 32, 32)
    assert torch.equal(data.train_x[:, 0], data.train_x[:, 2])  # grey copied to three channels
    assert torch.equal(test.x[:, 0], test.x[:, 2])
    other_seed = load_dataset(DataSpec(seed=5))  # the split does not depend on the seed
    assert torch.equal(other_seed.val_x, data.val_x)
    assert torch.equal(other_seed.train_x, data.train_x)
    assert int(data.train_x.max()) == 255 and int(data.train_x.min()) == 0
