"""The compressed file: a network's shared weights, sparse layout and Huffman codes, byte by byte.

    b"SQZC" | version (u8) | header length (u32, little-endian) | header | sections

The header is JSON (UTF-8), deflated with zlib: its layer table repeats long tensor names.

The header holds the architecture, the input normalisation and, per compressed layer, its shape,
bits, gap width, shared values, entries and the bit length of its two streams. Each compressed
layer's section, in header order:
    codebook: the shared nonzero values, float32 (code 0 is zero and is not stored)
    code lengths of the weight indices: one byte per code (2**bits)
    code lengths of the gaps: one byte per gap value (2**index_bits)
    Huffman-coded weight indices, padded to a byte; Huffman-coded gaps (gap - 1), padded to a byte
Then every other tensor (biases), float32, plainly, in header order.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from sqzdse.compression import _codec, _huffman

MAGIC = b"SQZC"
VERSION = 1


@dataclass(frozen=True)
class Layer:
    """One compressed weight tensor: where its nonzeros sit, and their shared values."""

    key: str  # the state_dict key
    shape: tuple[int, ...]
    bits: int
    index_bits: int
    codebook: np.ndarray  # float32, the shared nonzero values; code c > 0 means codebook[c - 1]
    positions: np.ndarray  # sorted flat positions of the nonzeros
    codes: np.ndarray  # the code (1 ..) of each nonzero

    def dense(self) -> np.ndarray:
        values = np.concatenate([np.zeros(1, np.float32), self.codebook.astype(np.float32)])
        flat = np.zeros(int(np.prod(self.shape)), dtype=np.float32)
        flat[self.positions] = values[self.codes]
        return flat.reshape(self.shape)


@dataclass(frozen=True)
class Written:
    """What `write` produced: the file's bytes and where they went."""

    data: bytes
    header_bytes: int  # signature, version, length and the deflated JSON header
    section_bytes: dict[str, int]  # compressed layer key -> bytes of its section
    plain_bytes: dict[str, int]  # plain tensor key -> bytes
    entries: dict[str, int]  # compressed layer key -> stored entries (nonzeros and fillers)


def write(layers: list[Layer], plain: dict[str, np.ndarray], meta: dict) -> Written:
    """The file holding `layers`, the `plain` float32 tensors and `meta` (JSON data: architecture,
    normalisation)."""
    described, sections, entries = [], [], {}
    for layer in layers:
        if len(layer.codes) and int(layer.codes.min()) < 1:
            raise ValueError(f"{layer.key}: code 0 is reserved for zero")
        gaps, is_filler = _codec.sparse_entries(layer.positions, layer.index_bits)
        codes = np.zeros(len(gaps), dtype=np.int64)
        codes[~is_filler] = layer.codes
        code_lengths = _huffman.code_lengths(np.bincount(codes, minlength=1 << layer.bits))
        gap_lengths = _huffman.code_lengths(np.bincount(gaps, minlength=1 << layer.index_bits))
        code_stream, code_bits = _huffman.encode(codes, code_lengths)
        gap_stream, gap_bits = _huffman.encode(gaps, gap_lengths)
        sections.append(
            b"".join(
                [
                    layer.codebook.astype("<f4").tobytes(),
                    code_lengths.astype(np.uint8).tobytes(),
                    gap_lengths.astype(np.uint8).tobytes(),
                    code_stream,
                    gap_stream,
                ]
            )
        )
        entries[layer.key] = len(gaps)
        described.append(
            {
                "key": layer.key,
                "shape": list(layer.shape),
                "bits": layer.bits,
                "index_bits": layer.index_bits,
                "values": len(layer.codebook),
                "entries": len(gaps),
                "code_bits": code_bits,
                "gap_bits": gap_bits,
            }
        )
    plain_described = [{"key": k, "shape": list(v.shape)} for k, v in plain.items()]
    header = zlib.compress(
        json.dumps(
            {"meta": meta, "layers": described, "plain": plain_described}, separators=(",", ":")
        ).encode(),
        level=9,
    )
    head = MAGIC + struct.pack("<BI", VERSION, len(header)) + header
    plain_data = [np.ascontiguousarray(v, dtype="<f4").tobytes() for v in plain.values()]
    return Written(
        head + b"".join(sections) + b"".join(plain_data),
        len(head),
        {layer.key: len(s) for layer, s in zip(layers, sections)},
        {k: len(d) for k, d in zip(plain, plain_data)},
        entries,
    )


def read(data: bytes) -> tuple[list[Layer], dict[str, np.ndarray], dict]:
    """(layers, plain tensors, meta) of a compressed file; ValueError when it is not one."""
    if data[:4] != MAGIC:
        raise ValueError("no SQZC signature at its start")
    version, length = struct.unpack_from("<BI", data, 4)
    if version != VERSION:
        raise ValueError(f"format version {version}; this sqzdse reads version {VERSION}")
    at = 4 + struct.calcsize("<BI")
    header = json.loads(zlib.decompress(data[at : at + length]))
    at += length

    def take(n: int) -> bytes:
        nonlocal at
        if at + n > len(data):
            raise ValueError("the file ends early: it is truncated")
        chunk, at = data[at : at + n], at + n
        return chunk

    layers = []
    for d in header["layers"]:
        codebook = np.frombuffer(take(4 * d["values"]), dtype="<f4").astype(np.float32)
        code_lengths = np.frombuffer(take(1 << d["bits"]), dtype=np.uint8).astype(np.int64)
        gap_lengths = np.frombuffer(take(1 << d["index_bits"]), dtype=np.uint8).astype(np.int64)
        codes = _huffman.decode(
            take(-(-d["code_bits"] // 8)), d["code_bits"], code_lengths, d["entries"]
        )
        gaps = _huffman.decode(
            take(-(-d["gap_bits"] // 8)), d["gap_bits"], gap_lengths, d["entries"]
        )
        stored = codes > 0  # code 0: a filler
        layers.append(
            Layer(
                d["key"],
                tuple(d["shape"]),
                d["bits"],
                d["index_bits"],
                codebook,
                _codec.positions_of(gaps)[stored],
                codes[stored],
            )
        )
    plain = {}
    for d in header["plain"]:
        n = int(np.prod(d["shape"], dtype=np.int64))
        plain[d["key"]] = np.frombuffer(take(4 * n), dtype="<f4").reshape(d["shape"]).copy()
    if at != len(data):
        raise ValueError(f"{len(data) - at} bytes after the last tensor")
    return layers, plain, header["meta"]
