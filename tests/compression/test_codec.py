"""Deep Compression's pieces, checked against hand-worked cases and random round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sqzdse.compression import _codec, _format, _huffman


def test_huffman_lengths_of_a_textbook_case():
    # counts 45, 13, 12, 16, 9, 5 (CLRS): lengths 1, 3, 3, 3, 4, 4, 224 bits in all.
    counts = np.array([45, 13, 12, 16, 9, 5])
    lengths = _huffman.code_lengths(counts)
    assert lengths.tolist() == [1, 3, 3, 3, 4, 4]
    assert int((counts * lengths).sum()) == 224


def test_canonical_codes_are_prefix_free_and_ordered():
    lengths = np.array([2, 0, 3, 3, 2, 2])
    codes = _huffman.canonical_codes(lengths)
    words = {s: format(int(codes[s]), f"0{lengths[s]}b") for s in np.flatnonzero(lengths)}
    assert words == {0: "00", 4: "01", 5: "10", 2: "110", 3: "111"}


@pytest.mark.parametrize("alphabet", [1, 2, 7, 64, 256])
def test_huffman_round_trip_and_size(alphabet):
    rng = np.random.default_rng(alphabet)
    symbols = rng.choice(alphabet, size=5000, p=rng.dirichlet(np.full(alphabet, 0.5)))
    counts = np.bincount(symbols, minlength=alphabet)
    lengths = _huffman.code_lengths(counts)
    data, n_bits = _huffman.encode(symbols, lengths)
    assert n_bits == int((counts * lengths).sum()) and len(data) == math.ceil(n_bits / 8)
    assert np.array_equal(_huffman.decode(data, n_bits, lengths, len(symbols)), symbols)
    used = counts[counts > 0] / counts.sum()
    entropy = float(-(used * np.log2(used)).sum())
    assert entropy <= n_bits / len(symbols) <= max(entropy, 0) + 1  # within a bit of the entropy


def test_huffman_decode_refuses_bits_that_do_not_add_up():
    lengths = _huffman.code_lengths(np.array([3, 1, 1]))
    data, n_bits = _huffman.encode(np.array([0, 1, 2, 0]), lengths)
    with pytest.raises(ValueError):
        _huffman.decode(data, n_bits, lengths, 3)  # a symbol left over
    with pytest.raises(ValueError):
        _huffman.decode(data, n_bits, lengths, 5)  # one missing


def test_prune_keeps_the_largest_magnitudes_per_layer():
    weights = np.array([[0.1, -0.9, 0.3], [-0.2, 0.05, 0.7]])
    assert _codec.prune_mask(weights, 0.5).tolist() == [[False, True, True], [False, False, True]]
    assert _codec.prune_mask(weights, 0.01).sum() == 1  # at least one weight stays


def test_kmeans_starts_linear_and_converges_to_cluster_means():
    values = np.array([-1.0, -0.9, -1.1, 0.0, 0.1, 2.0, 2.2])
    centroids, labels = _codec.kmeans_1d(values, 3)
    assert centroids.tolist() == pytest.approx([-1.0, 0.05, 2.1])
    assert labels.tolist() == [0, 0, 0, 1, 1, 2, 2]
    few, few_labels = _codec.kmeans_1d(np.array([0.5, 0.5, -0.5]), 4)
    assert few.tolist() == [-0.5, 0.5] and few_labels.tolist() == [1, 1, 0]


def test_gaps_take_fillers_when_they_overflow_the_index_width():
    # 2-bit gaps reach 4 positions: 0 -> gap 1; 9 -> 9 apart: fillers at 4 and 8, then gap 1.
    gaps, is_filler = _codec.sparse_entries(np.array([0, 9, 10]), 2)
    assert (gaps + 1).tolist() == [1, 4, 4, 1, 1]
    assert is_filler.tolist() == [False, True, True, False, False]
    assert _codec.positions_of(gaps).tolist() == [0, 4, 8, 9, 10]
    assert _codec.entry_count(np.array([0, 9, 10]), 2) == 5


def test_random_sparse_layouts_round_trip():
    rng = np.random.default_rng(0)
    for width in range(1, 9):
        positions = np.flatnonzero(rng.random(3000) < rng.uniform(0.01, 0.9))
        gaps, is_filler = _codec.sparse_entries(positions, width)
        assert gaps.max() < 2**width
        assert np.array_equal(_codec.positions_of(gaps)[~is_filler], positions)


def test_the_gap_width_chosen_is_the_smallest_fixed_width_layout():
    positions = np.arange(0, 3000, 3)  # every third position: gap 3 everywhere
    assert _codec.best_index_bits(positions, 6) == 2
    sizes = {w: _codec.entry_count(positions, w) * (6 + w) for w in range(1, 9)}
    assert sizes[2] == min(sizes.values())


def test_file_round_trip_is_exact_and_bytes_add_up():
    rng = np.random.default_rng(1)
    shape = (8, 4, 3, 3)
    positions = np.flatnonzero(rng.random(288) < 0.3)
    layer = _format.Layer(
        "conv.weight",
        shape,
        4,
        3,
        rng.normal(size=15).astype(np.float32),
        positions,
        rng.integers(1, 16, size=len(positions)),
    )
    bias = rng.normal(size=8).astype(np.float32)
    written = _format.write([layer], {"conv.bias": bias}, {"note": "x"})
    assert len(written.data) == written.header_bytes + sum(written.section_bytes.values()) + 32
    layers, plain, meta = _format.read(written.data)
    assert meta == {"note": "x"} and np.array_equal(plain["conv.bias"], bias)
    assert np.array_equal(layers[0].dense(), layer.dense())
    assert layers[0].dense().dtype == np.float32


def test_reading_refuses_damaged_files():
    layer = _format.Layer("w", (4,), 2, 2, np.ones(3, np.float32), np.array([1]), np.array([2]))
    data = _format.write([layer], {}, {}).data
    with pytest.raises(ValueError, match="signature"):
        _format.read(b"JUNK" + data[4:])
    with pytest.raises(ValueError):
        _format.read(data[:-1])
    with pytest.raises(ValueError, match="after the last"):
        _format.read(data + b"\0")
