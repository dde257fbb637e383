"""`digits`: the embedded set, its fixed per-class split and the upsampling."""

from __future__ import annotations

import pytest
import torch

from sqzdse.data import DataSpec, load_dataset

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def test_digits_split_is_fixed_stratified_and_upsampled():
    data = load_dataset(DataSpec())
    assert (len(data.train_y), len(data.val_y)) == (1438, 359)
    assert data.train_x.shape[1:] == (3, 32, 32)
    assert torch.equal(data.train_x[:, 0], data.train_x[:, 2])  # grey copied to three channels
    counts = torch.bincount(data.val_y, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37  # about 20% of each class
    other_seed = load_dataset(DataSpec(seed=5))  # the split does not depend on the seed
    assert torch.equal(other_seed.val_x, data.val_x)
    assert int(data.train_x.max()) == 255 and int(data.train_x.min()) == 0
