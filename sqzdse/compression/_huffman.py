"""Canonical Huffman coding of small alphabets (at most a few hundred symbols), vectorised with
numpy. A code is stored as one length per symbol (0 for an unused symbol); encoder and decoder
derive the same canonical codes from the lengths alone."""

from __future__ import annotations

import heapq

import numpy as np

MAX_LENGTH = 56  # codes are assembled in 64-bit integers


def code_lengths(counts: np.ndarray) -> np.ndarray:
    """Huffman code length of each symbol for these occurrence counts (0 for a symbol that never
    occurs; 1 when only one symbol occurs, so that every symbol still takes a bit)."""
    counts = np.asarray(counts, dtype=np.int64)
    lengths = np.zeros(len(counts), dtype=np.int64)
    used = np.flatnonzero(counts)
    if len(used) == 1:
        lengths[used] = 1
    if len(used) <= 1:
        return lengths
    # (weight, tie-break, symbols under this node): merging adds one bit to each symbol below.
    heap = [(int(counts[s]), int(s), [int(s)]) for s in used]
    heapq.heapify(heap)
    while len(heap) > 1:
        w1, t1, s1 = heapq.heappop(heap)
        w2, t2, s2 = heapq.heappop(heap)
        lengths[s1 + s2] += 1
        heapq.heappush(heap, (w1 + w2, min(t1, t2), s1 + s2))
    if lengths.max() > MAX_LENGTH:
        raise ValueError(f"a Huffman code longer than {MAX_LENGTH} bits")
    return lengths


def canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """The canonical code of each symbol: shorter codes first, then by symbol."""
    lengths = np.asarray(lengths, dtype=np.int64)
    codes = np.zeros(len(lengths), dtype=np.int64)
    code, previous = 0, 0
    for symbol in sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s)):
        code <<= int(lengths[symbol]) - previous
        codes[symbol] = code
        previous = int(lengths[symbol])
        code += 1
    return codes


def encode(symbols: np.ndarray, lengths: np.ndarray) -> tuple[bytes, int]:
    """The bit stream of `symbols` (most significant bit first, zero-padded to a byte) and its
    length in bits. Every symbol must have a code."""
    symbols = np.asarray(symbols, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(symbols) and (lengths[symbols] == 0).any():
        raise ValueError("a symbol without a code")
    codes = canonical_codes(lengths)
    sizes = lengths[symbols]
    total = int(sizes.sum())
    if total == 0:
        return b"", 0
    starts = np.cumsum(sizes) - sizes
    owner = np.repeat(np.arange(len(symbols)), sizes)
    shift = sizes[owner] - 1 - (np.arange(total) - starts[owner])
    bits = (codes[symbols][owner] >> shift) & 1
    return np.packbits(bits.astype(np.uint8)).tobytes(), total


def decode(data: bytes, n_bits: int, lengths: np.ndarray, count: int) -> np.ndarray:
    """The `count` symbols coded in the first `n_bits` bits of `data` (the inverse of `encode`);
    ValueError when the bits do not decode to exactly that."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if count == 0:
        if n_bits:
            raise ValueError("bits left over")
        return np.zeros(0, dtype=np.int64)
    longest = int(lengths.max()) if len(lengths) else 0
    if longest == 0:
        raise ValueError("no codes to decode with")
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    if len(bits) < n_bits:
        raise ValueError("the bit stream is shorter than its stated length")
    bits = np.concatenate([bits[:n_bits].astype(np.int64), np.zeros(longest, dtype=np.int64)])
    # window[p]: the `longest` bits from position p as one integer; a table maps it to a symbol.
    window = np.zeros(n_bits, dtype=np.int64)
    for j in range(longest):
        window = (window << 1) | bits[j : j + n_bits]
    # Canonical codes of one length are consecutive integers: the window's first L bits, less the
    # first code of length L, index the symbols of that length (shortest match wins: prefix-free).
    codes = canonical_codes(lengths)
    step_symbol = np.full(n_bits, -1, dtype=np.int64)
    step_length = np.zeros(n_bits, dtype=np.int64)
    for size in sorted(set(lengths[lengths > 0].tolist())):
        of_size = np.array(sorted(np.flatnonzero(lengths == size)), dtype=np.int64)
        offset = (window >> (longest - size)) - codes[of_size[0]]
        match = (step_length == 0) & (offset >= 0) & (offset < len(of_size))
        step_symbol[match] = of_size[offset[match]]
        step_length[match] = size
    symbol_at, length_at = step_symbol.tolist(), step_length.tolist()  # lists index faster
    out, position = [], 0
    for _ in range(count):
        if position >= n_bits:
            raise ValueError("the bit stream ends before the last symbol")
        if length_at[position] == 0:
            raise ValueError("bits that are no code")
        out.append(symbol_at[position])
        position += length_at[position]
    if position != n_bits:
        raise ValueError("bits left over after the last symbol")
    return np.asarray(out, dtype=np.int64)
