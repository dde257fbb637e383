"""Deep Compression's steps on one layer's weights, as pure numpy functions: magnitude pruning,
k-means weight sharing (linear initialisation) and the sparse layout of relative index gaps.

Code 0 of every codebook is reserved for zero: it is the value of the filler entries that a gap
too long for the index width needs, so a layer at `bits` bits shares 2**bits - 1 nonzero values.
"""

from __future__ import annotations

import numpy as np

KMEANS_ITERATIONS = 100


def prune_mask(weights: np.ndarray, density: float) -> np.ndarray:
    """True for the round(density x n) weights of largest magnitude (at least one); ties go to
    the earlier position, so the mask is deterministic."""
    flat = np.abs(weights.ravel())
    keep = max(1, round(density * flat.size))
    order = np.argsort(-flat, kind="stable")
    mask = np.zeros(flat.size, dtype=bool)
    mask[order[:keep]] = True
    return mask.reshape(weights.shape)


def kmeans_1d(values: np.ndarray, clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """(centroids, label of each value): Lloyd's algorithm in one dimension from centroids spread
    evenly between the smallest and the largest value (Deep Compression's linear initialisation).
    An empty cluster keeps its centroid; at most `clusters` centroids, fewer when there are fewer
    distinct values."""
    values = np.asarray(values, dtype=np.float64)
    distinct = np.unique(values)
    if len(distinct) <= clusters:
        return distinct.astype(np.float32), np.searchsorted(distinct, values)
    centroids = np.linspace(values.min(), values.max(), clusters)
    labels: np.ndarray | None = None
    for _ in range(KMEANS_ITERATIONS):
        # Centroids stay sorted in one dimension: a value's nearest one is found by bisection.
        new = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        sums = np.bincount(labels, weights=values, minlength=clusters)
        sizes = np.bincount(labels, minlength=clusters)
        centroids = np.where(sizes > 0, sums / np.maximum(sizes, 1), centroids)
    assert labels is not None  # KMEANS_ITERATIONS >= 1: the loop ran
    return centroids.astype(np.float32), labels


def sparse_entries(positions: np.ndarray, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(gaps, is_filler) of the entries that store nonzeros at the sorted flat `positions`: each
    entry's distance to the previous one (the first counts from position -1), stored as gap - 1
    in `index_bits` bits; a gap longer than 2**index_bits takes filler entries of that length."""
    most = 1 << index_bits
    distances = np.diff(np.concatenate([[-1], positions]))
    fillers = (distances - 1) // most
    gaps = distances - fillers * most
    n_entries = len(positions) + int(fillers.sum())
    is_filler = np.ones(n_entries, dtype=bool)
    at_value = np.cumsum(fillers + 1) - 1  # entry index of each stored nonzero
    is_filler[at_value] = False
    stored = np.full(n_entries, most, dtype=np.int64)
    stored[at_value] = gaps
    return stored - 1, is_filler


def positions_of(gaps: np.ndarray) -> np.ndarray:
    """The flat position of every entry (nonzeros and fillers) from stored gaps (gap - 1)."""
    return np.cumsum(np.asarray(gaps, dtype=np.int64) + 1) - 1


def entry_count(positions: np.ndarray, index_bits: int) -> int:
    distances = np.diff(np.concatenate([[-1], positions]))
    return len(positions) + int(((distances - 1) >> index_bits).sum())


def best_index_bits(positions: np.ndarray, bits: int, choices=range(1, 9)) -> int:
    """The gap width that makes (entries x (bits + width)) smallest: Deep Compression's fixed-width
    layout before Huffman coding."""
    return min(choices, key=lambda w: (entry_count(positions, w) * (bits + w), w))
