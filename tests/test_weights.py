"""Deployable weights: kept by the trainer, stored as bytes, read back to the same network."""

from __future__ import annotations

import pytest
import torch

from sqzdse.arch import preset
from sqzdse.data import DataSpec, load_dataset
from sqzdse.errors import SqzdseError
from sqzdse.train import TrainConfig, train_proxy
from sqzdse.weights import Weights, sha256


@pytest.fixture(scope="module")
def trained():
    data = load_dataset(DataSpec(name="digits", resolution=32, train_per_class=20))
    arch = preset("v1.1", num_classes=10, resolution=32, base_e=16, incr_e=16, stem_filters=16)
    result = train_proxy(arch, data, TrainConfig(epochs=2, device="cpu"), keep_weights=True)
    assert result.status == "ok"
    return data, result


def test_weights_are_kept_only_when_asked(trained):
    data, result = trained
    assert isinstance(result.weights, Weights) and "weights" not in result.to_dict()
    again = train_proxy(result.weights.arch, data, TrainConfig(epochs=1, device="cpu"))
    assert again.weights is None


def test_the_deployable_network_reproduces_the_recorded_accuracy(trained):
    data, result = trained
    weights = Weights.from_bytes(result.weights.to_bytes())
    assert not any("bn" in name for name in weights.state)  # BatchNorm folded
    with torch.inference_mode():
        predicted = weights.deployable()(data.val_x.float()).argmax(1)
    correct = int((predicted == data.val_y).sum())
    assert correct == round(result.top1 * len(data.val_y))


def test_bytes_round_trip_exactly_and_name_their_checksum(trained):
    _, result = trained
    data = result.weights.to_bytes()
    back = Weights.from_bytes(data)
    assert back.arch == result.weights.arch and back.mean == result.weights.mean
    assert all(torch.equal(back.state[k], v) for k, v in result.weights.state.items())
    assert sha256(back.to_bytes()) == sha256(data) and len(sha256(data)) == 64


@pytest.mark.parametrize("data", [b"", b"not a checkpoint", b"PK\x03\x04 truncated"])
def test_other_bytes_are_refused_with_one_message(data):
    with pytest.raises(SqzdseError, match="not sqzdse weights"):
        Weights.from_bytes(data)
