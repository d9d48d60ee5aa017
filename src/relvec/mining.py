"""Relation mining: the pairs of a vocabulary that relate most like a seed pair, searched exactly over every
ordered pair (a, b), a ≠ b, with a static relation model (``relvec neighbours mine``).

For a seed with unit embedding q the score of (a, b) is cos(q, emb(a, b)) = Σ factor · ⟨q part, pair part⟩
(:meth:`~relvec.encoders.static_relation.StaticRelationEncoder.query_parts`). Heads are processed in blocks: for
a block, f̂(a, ·) against every tail gives the forward part of (a, ·) *and* the reversed part of (·, a), so each
f is computed once; the N × N score matrix is float32 (400 MB for N = 10,000) and the top k are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from relvec.precision import resolve_precision

Pair = tuple[str, str]
SHORTLIST = 4096  # pairs rescored in fp32 after a fast (bf16) pass


@dataclass(frozen=True)
class Mined:
    pair: Pair
    score: float


def mine_pairs(
    model: object,
    vocabulary: Sequence[str],
    seed: Pair,
    k: int = 20,
    block: int = 8,
    on_block: Callable[[int, int], None] | None = None,
    precision: str = "fp32",
) -> list[Mined]:
    """The ``k`` ordered pairs of distinct ``vocabulary`` words with the highest cos(emb(seed), emb(a, b)),
    the seed itself and its reversal left out (exact: every pair is scored). ``precision`` resolving to bf16
    (:func:`~relvec.precision.resolve_precision`; "auto" on CPUs with native bf16): every pair is scored with bf16
    products, then the best ``max(SHORTLIST, 4k)`` are scored again in fp32, which gives fp32's
    top k unless bf16's error (~1e-2) moves a pair across that whole shortlist."""
    if not callable(getattr(model, "query_parts", None)):
        raise ValueError("mining needs a static relation model (see `relvec distill`)")
    words = list(dict.fromkeys(vocabulary))
    if len(words) < 2:
        raise ValueError(f"the vocabulary needs at least two words, got {len(words)}")
    if k < 1 or block < 1:
        raise ValueError(f"k and block must be positive, got {k} and {block}")
    fast = resolve_precision(precision, torch.device("cpu")) == "bf16"
    n = len(words)
    rows = model.rows_of(words)  # type: ignore[attr-defined]
    query = model.encode(seed, normalize=True, precision="fp32")  # type: ignore[attr-defined]
    parts = model.query_parts(query)  # type: ignore[attr-defined]
    targets = [parts["forward"][1]] + ([parts["reversed"][1]] if "reversed" in parts else [])
    stacked = torch.stack(targets)
    forward = np.zeros((n, n), dtype=np.float32)
    backward = np.zeros((n, n), dtype=np.float32) if "reversed" in parts else None
    blocks = range(0, n, block)
    for i, start in enumerate(blocks):
        heads = rows[start : start + block]
        h = heads.repeat_interleave(n)
        t = rows.repeat(len(heads))
        dots = model.prompt_dots(h, t, stacked, fast=fast).numpy().reshape(len(heads), n, len(targets))  # type: ignore[attr-defined]
        forward[start : start + len(heads)] = parts["forward"][0] * dots[:, :, 0]
        if backward is not None:
            # f̂(a, b) with the reversed target scores pair (b, a): column a of the reversed matrix
            backward[:, start : start + len(heads)] = parts["reversed"][0] * dots[:, :, 1].T
        if on_block is not None:
            on_block(i + 1, len(blocks))
    scores = forward
    if backward is not None:
        scores += backward
        del backward
    if "offset" in parts:
        scores += _offset_scores(model, rows, parts["offset"])
    np.fill_diagonal(scores, -np.inf)
    for a, b in (seed, seed[::-1]):
        if a in words and b in words:
            scores[words.index(a), words.index(b)] = -np.inf
    flat = scores.reshape(-1)
    take = min(k, n * (n - 1))
    if fast:
        return _rescored(model, words, rows, flat, query, take)
    best = np.argpartition(-flat, take - 1)[:take]
    best = best[np.argsort(-flat[best], kind="stable")]
    return [Mined((words[i // n], words[i % n]), float(flat[i])) for i in best]


def _rescored(
    model: object, words: list[str], rows: torch.Tensor, flat: np.ndarray, query: np.ndarray, take: int
) -> list[Mined]:
    """The top ``take`` of a fast pass's flattened N × N scores, after scoring its shortlist again exactly (the
    other pairs keep bf16 scores below the shortlist's, so they cannot reach the top)."""
    n = len(words)
    short = min(max(SHORTLIST, 4 * take), n * (n - 1))
    shortlist = np.argpartition(-flat, short - 1)[:short]
    shortlist = shortlist[np.isfinite(flat[shortlist])]  # never the diagonal, the seed or its reversal
    index = torch.as_tensor(shortlist)
    exact = model.score_rows(rows[index // n], rows[index % n], query)  # type: ignore[attr-defined]
    best = np.argsort(-exact, kind="stable")[:take]
    return [Mined((words[shortlist[i] // n], words[shortlist[i] % n]), float(exact[i])) for i in best]


def _offset_scores(model: object, rows: torch.Tensor, part: tuple[float, torch.Tensor]) -> np.ndarray:
    """factor · q_o · (e_b − e_a) / ‖e_b − e_a‖ for every (a, b), from E·q_o and E·Eᵀ (unit word vectors)."""
    scale, query = part
    table = model.tables()[4][rows]  # type: ignore[attr-defined]
    projection = (table @ query).numpy().astype(np.float32)
    out = (table @ table.T).numpy().astype(np.float32)  # then ‖e_b − e_a‖ = √(2 − 2 e_a·e_b), in place
    np.multiply(out, -2.0, out=out)
    np.add(out, 2.0, out=out)
    np.maximum(out, 1e-12, out=out)
    np.sqrt(out, out=out)
    np.divide(projection[None, :] - projection[:, None], out, out=out)
    np.multiply(out, scale, out=out)
    return out
