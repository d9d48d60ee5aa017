"""Quantised storage of unit relation vectors: int8 scalar codes and binary (sign) codes, each with an exact
rescoring of a shortlist, as the completion and mining fast passes do.

- **int8**: each dimension scaled by its largest magnitude over the stored vectors to [−127, 127]; a score is the
  dot product of the int8 codes with the float query, times the scales (4× smaller than float32).
- **binary**: one bit per dimension (its sign), 32× smaller than float32; a score is the number of agreeing bits
  (a Hamming similarity). Coarse alone: a shortlist of the best is then scored exactly from full vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from relvec.encoders.pair_scoring import rescored_top, top_indices


@dataclass(frozen=True)
class Int8Codes:
    """int8 codes (n, d) and the per-dimension scales that map them back to floats."""

    codes: np.ndarray
    scales: np.ndarray

    @classmethod
    def encode(cls, vectors: np.ndarray, scales: np.ndarray | None = None) -> Int8Codes:
        """Codes of ``vectors``; ``scales`` default to each dimension's largest magnitude / 127 over them."""
        x = np.asarray(vectors, dtype=np.float32)
        if scales is None:
            scales = np.maximum(np.abs(x).max(axis=0), 1e-12) / 127.0
        codes = np.clip(np.rint(x / scales), -127, 127).astype(np.int8)
        return cls(codes, np.asarray(scales, dtype=np.float32))

    def decode(self) -> np.ndarray:
        return self.codes.astype(np.float32) * self.scales

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Approximate dot products of every stored vector with ``query`` (float)."""
        return self.codes.astype(np.float32) @ (np.asarray(query, dtype=np.float32) * self.scales)


@dataclass(frozen=True)
class BinaryCodes:
    """Sign bits of (n, d) vectors, packed 8 to a byte, and the dimension ``d``."""

    bits: np.ndarray
    dim: int

    @classmethod
    def encode(cls, vectors: np.ndarray) -> BinaryCodes:
        x = np.asarray(vectors)
        return cls(np.packbits(x > 0, axis=-1), int(x.shape[-1]))

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Agreeing bits of every stored code with ``query``'s signs, as a similarity in [−1, 1]."""
        q = np.packbits(np.asarray(query) > 0, axis=-1)
        differing = np.unpackbits(np.bitwise_xor(self.bits, q), axis=-1, count=self.dim).sum(axis=-1)
        return 1.0 - 2.0 * differing / self.dim


def search_with_rescoring(
    coarse: np.ndarray, k: int, shortlist: int, exact: Callable[[np.ndarray], np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` (rows, scores): with ``exact`` (rows -> exact scores) the best ``shortlist`` of the coarse
    scores are scored again and the top k taken from them; without, the coarse top k."""
    if exact is None:
        rows = top_indices(coarse, k)
        return rows, coarse[rows]
    return rescored_top(np.asarray(coarse, dtype=np.float32), k, shortlist, exact)
