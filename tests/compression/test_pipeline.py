"""Compressing a trained network: the file decodes to the compressed weights bit for bit, its bytes
are the report's, and the accuracy after is that of the decoded network."""

from __future__ import annotations

import pytest
import torch

from sqzdse.arch import preset
from sqzdse.compression import Settings
from sqzdse.compression._codec import prune_mask
from sqzdse.compression._finetune import normalizer, shared_weights
from sqzdse.compression.pipeline import compress, decompress, layer_names
from sqzdse.data import DataSpec, load_dataset
from sqzdse.errors import SqzdseError
from sqzdse.model import build_model
from sqzdse.train import TrainConfig, evaluate, train_proxy

ARCH = preset(
    "v1.1",
    num_classes=10,
    resolution=16,
    base_e=16,
    incr_e=8,
    stem_filters=16,
    pool_after=("conv1", "fire3"),
)
CONFIG = TrainConfig(epochs=2, batch_size=16, device="cpu")


@pytest.fixture(scope="module")
def trained():
    data = load_dataset(DataSpec("digits", resolution=16, train_per_class=20, val_per_class=10))
    result = train_proxy(ARCH, data, CONFIG, keep_weights=True)
    assert result.status == "ok"
    return data, result.weights


@pytest.fixture(scope="module")
def compressed(trained):
    data, weights = trained
    return compress(weights, data, Settings(density=0.33, bits=4, finetune_epochs=1), CONFIG)


def test_the_file_decodes_to_the_compressed_weights_bit_for_bit(compressed):
    back = decompress(compressed.data)
    assert back.arch == ARCH and back.state.keys() == compressed.weights.state.keys()
    for key, tensor in compressed.weights.state.items():
        assert back.state[key].dtype == torch.float32
        assert torch.equal(back.state[key], tensor), key


def test_the_accuracy_after_is_that_of_the_decoded_network(trained, compressed):
    data, _ = trained
    model = decompress(compressed.data).model()
    shift, scale = normalizer(data)
    top1, top5, _ = evaluate(
        model,
        data.val_x,
        data.val_y,
        shift=shift,
        scale=scale,
        batch_size=64,
        autocast=torch.autocast("cpu", enabled=False),
    )
    report = compressed.report
    assert (top1, top5) == (report.top1_after, report.top5_after)
    assert report.top1_before is not None and 0 <= report.top1_before <= 1


def test_every_layer_keeps_its_share_and_at_most_2_to_the_bits_minus_1_values(compressed):
    state = compressed.weights.state
    names = layer_names(build_model(ARCH))
    report = {layer.name: layer for layer in compressed.report.layers}
    assert list(report) == list(names.values())  # every convolution, in network order
    assert list(report)[0] == "conv1" and list(report)[-1] == "conv10"
    for key, name in names.items():
        weights = state[key]
        kept = round(0.33 * weights.numel()) or 1
        assert int((weights != 0).sum()) <= kept  # a shared value may itself be 0
        assert report[name].nonzero == kept and report[name].weights == weights.numel()
        assert len(torch.unique(weights[weights != 0])) <= 2**4 - 1
        assert report[name].bits == 4 and report[name].shared_values <= 15


def test_the_report_adds_up_to_the_file(compressed):
    report = compressed.report
    assert report.file_bytes == len(compressed.data)
    assert report.header_bytes + sum(layer.file_bytes for layer in report.layers) == len(
        compressed.data
    )
    params = sum(t.numel() for t in compressed.weights.state.values())
    assert report.dense_bytes == 4 * params
    assert report.ratio == pytest.approx(4 * params / len(compressed.data))
    for layer in report.layers:  # fixed width: entries x (bits + gap bits), codebook, bias
        entries = layer.nonzero + layer.fillers
        bits = entries * (layer.bits + layer.index_bits)
        expected = -(-bits // 8) + 4 * layer.shared_values + 4 * layer.plain
        assert layer.estimate_bytes == expected
    as_dict = report.to_dict()
    assert as_dict["compressed_bytes"] == len(compressed.data)
    assert [p["phase"] for p in as_dict["loss"]] == ["pruned", "shared"]


def test_without_fine_tuning_the_mask_is_the_trained_weights_magnitude(trained):
    data, weights = trained
    result = compress(weights, data, Settings(0.5, 8, 0), CONFIG)
    for key in layer_names(build_model(ARCH)):
        expected = prune_mask(weights.state[key].numpy(), 0.5)
        kept = result.weights.state[key] != 0
        assert not (kept.numpy() & ~expected).any()  # nothing outside the magnitude mask
    assert result.report.loss == []


def test_sizes_only_without_data():
    weights = _random_weights()
    report = compress(weights, None, Settings(0.33, 6, 0), None).report  # no data, no accuracy
    assert report.top1_before is None and report.top1_after is None
    with pytest.raises(SqzdseError, match="training images"):
        compress(weights, None, Settings(0.33, 6, 1), None)


def test_the_gradient_of_a_shared_value_is_the_sum_over_its_cluster():
    torch.manual_seed(0)
    codes = {"w": torch.tensor([[0, 1, 2], [2, 1, 1]])}  # code 0: pruned
    book = torch.tensor([0.5, -0.25], requires_grad=True)
    weights = shared_weights({"w": book}, codes)["w"]
    assert weights.tolist() == [[0.0, 0.5, -0.25], [-0.25, 0.5, 0.5]]
    upstream = torch.randn(2, 3)
    (weights * upstream).sum().backward()
    expected = [upstream[codes["w"] == c].sum().item() for c in (1, 2)]
    assert book.grad.tolist() == pytest.approx(expected)


def test_settings_name_the_bad_value():
    with pytest.raises(SqzdseError, match=r"density must be in \(0, 1\], got 0"):
        Settings(density=0)
    with pytest.raises(SqzdseError, match="bits must be an integer from 1 to 8, got 9"):
        Settings(bits=9)
    with pytest.raises(SqzdseError, match="finetune_epochs must be an integer >= 0"):
        Settings(finetune_epochs=-1)


def _random_weights():
    from sqzdse.weights import Weights

    torch.manual_seed(0)
    return Weights.of(build_model(ARCH), ARCH, mean=(0.5,) * 3, std=(0.25,) * 3)


def test_a_damaged_file_is_refused_with_one_message(compressed):
    data = bytearray(compressed.data)
    with pytest.raises(SqzdseError, match="not a readable sqzdse compressed file"):
        decompress(bytes(data[: len(data) // 2]))
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside a Huffman stream or a codebook
    try:
        back = decompress(bytes(data))
    except SqzdseError:
        return  # refused: fine
    differs = [k for k in back.state if not torch.equal(back.state[k], compressed.weights.state[k])]
    assert differs  # or decoded, but never silently to the same weights
