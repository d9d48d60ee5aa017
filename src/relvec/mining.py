"""Relation mining: the pairs of a vocabulary that relate most like a seed pair, searched exactly over every
ordered pair (a, b), a ≠ b, with a static relation model (``relvec neighbours mine``).

For a seed with unit embedding q the score of (a, b) is cos(q, emb(a, b)) = Σ factor · ⟨q part, pair part⟩
(:meth:`~relvec.encoders.layout.Layout.split`). Heads are processed in blocks: for
a block, f̂(a, ·) against every tail gives the forward part of (a, ·) *and* the reversed part of (·, a), so each
f is computed once; the N × N score matrix is float32 (400 MB for N = 10,000) and the top k are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from relvec.encoders.pair_scoring import RowScorer, require_row_scorer, rescored_top, top_indices
from relvec.precision import compute_dtype
from relvec.search import prototype_query

Pair = tuple[str, str]
SHORTLIST = 4096  # pairs rescored in fp32 after a fast (bf16) pass
HEAD_MARGIN = 16  # with a per-head cap: each head's extra best pairs rescored in fp32 after a bf16 pass


@dataclass(frozen=True)
class Mined:
    pair: Pair
    score: float


def mine_pairs(
    model: Any,
    vocabulary: Sequence[str],
    seed: Pair | Sequence[Pair],
    k: int = 20,
    block: int = 8,
    on_block: Callable[[int, int], None] | None = None,
    precision: str | None = None,
    negatives: Sequence[Pair] = (),
    negative_weight: float = 0.5,
    max_per_head: int | None = None,
) -> list[Mined]:
    """The ``k`` ordered pairs of distinct ``vocabulary`` words with the highest cos(q, emb(a, b)), the seeds, the
    negatives and their reversals left out (exact: every pair is scored; exact ties in vocabulary order). ``seed`` is
    one pair (q = its unit embedding) or several, "more pairs like these": q is their prototype, less
    ``negative_weight`` × the negatives' (:func:`~relvec.search.prototype_query`).
    ``precision`` (default: the model's) resolving to bf16 (:func:`~relvec.precision.resolve_precision`; "auto" on
    CPUs with native bf16): every pair is scored with bf16 products, then the best ``max(SHORTLIST, 4k)`` are scored
    again in fp32, which gives fp32's top k unless bf16's error (~1e-2) moves a pair across that whole shortlist.
    ``max_per_head``: at most that many pairs of any one head word (a hub head, such as a seed's own, would otherwise
    fill the list; :func:`best_per_head`)."""
    scorer = require_row_scorer(model, "mining")
    words = list(dict.fromkeys(vocabulary))
    if len(words) < 2:
        raise ValueError(f"the vocabulary needs at least two words, got {len(words)}")
    if k < 1 or block < 1:
        raise ValueError(f"k and block must be positive, got {k} and {block}")
    check_per_head(max_per_head)
    dtype = compute_dtype(precision or getattr(model, "precision", "auto"))
    n = len(words)
    rows = scorer.rows_of(words)
    seeds = seed_list(seed)
    query = mining_query(model, seeds, [tuple(p) for p in negatives], negative_weight)
    scores = _all_scores(scorer, rows, query, block, dtype, on_block)
    np.fill_diagonal(scores, -np.inf)
    for a, b in excluded_rows(words, [*seeds, *map(tuple, negatives)]):
        scores[a, b] = -np.inf
    flat = scores.reshape(-1)

    def exact(chosen: np.ndarray) -> np.ndarray:
        index = torch.as_tensor(chosen)
        return scorer.score_rows(rows[index // n], rows[index % n], query)

    if max_per_head:
        best, values = best_per_head(flat, n, k, max_per_head, dtype, exact)
    else:
        best, values = best_scored(flat, k, dtype, exact)
    return [Mined((words[i // n], words[i % n]), float(v)) for i, v in zip(best, values, strict=True)]


def check_per_head(max_per_head: int | None) -> None:
    if max_per_head is not None and (isinstance(max_per_head, bool) or max_per_head < 1):
        raise ValueError(f"max_per_head (--max-per-head) must be a positive integer, got {max_per_head!r}")


def excluded_rows(words: Sequence[str], pairs: Sequence[Pair]) -> set[tuple[int, int]]:
    """(head row, tail row) of ``pairs`` and of their reversals whose words are in ``words``: never mined."""
    at = {w: i for i, w in enumerate(words)}
    return {(at[a], at[b]) for pair in pairs for a, b in (pair, pair[::-1]) if a in at and b in at}


def best_scored(
    flat: np.ndarray, k: int, dtype: torch.dtype, exact: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` finite entries of ``flat`` (indices, scores): directly in fp32; after a bf16 pass, its best
    ``max(SHORTLIST, 4k)`` scored again by ``exact`` (indices -> fp32 scores), which gives fp32's top k."""
    take = min(k, int(np.isfinite(flat).sum()))
    if dtype == torch.float32:
        best = top_indices(flat, take)
        return best, flat[best]
    return rescored_top(flat, take, max(SHORTLIST, 4 * take), exact)


def best_per_head(
    flat: np.ndarray,
    width: int,
    k: int,
    per_head: int,
    dtype: torch.dtype,
    exact: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` of ``flat`` (rows of ``width`` tails, one row a head) with at most ``per_head`` pairs of any
    head: each row's best ``per_head`` (after a bf16 pass, its best ``per_head`` + :data:`HEAD_MARGIN` scored again by
    ``exact``), then the best ``k`` of those; ties by index, as everywhere."""
    scores = flat.reshape(-1, width)
    take = min(width, per_head if dtype == torch.float32 else per_head + HEAD_MARGIN)
    found = np.argpartition(-scores, take - 1, axis=1)[:, :take] + (np.arange(len(scores)) * width)[:, None]
    found = found.reshape(-1)
    found = found[np.isfinite(flat[found])]
    values = flat[found] if dtype == torch.float32 else np.asarray(exact(found), dtype=np.float32)
    order = np.lexsort((found, -values, found // width))  # by head row, best first within it
    found, values = found[order], values[order]
    row = found // width
    first = np.searchsorted(row, row)  # each head row's first position in the sorted list
    keep = np.arange(len(found)) - first < per_head
    found, values = found[keep], values[keep]
    top = np.lexsort((found, -values))[:k]
    return found[top], values[top]


def seed_list(seed: Pair | Sequence[Pair]) -> list[Pair]:
    """One seed pair or several, as a list of pairs."""
    if isinstance(seed, (tuple, list)) and len(seed) == 2 and all(isinstance(w, str) for w in seed):
        return [(seed[0], seed[1])]
    return [(a, b) for a, b in seed]


def mining_query(model: Any, seeds: list[Pair], negatives: list[Pair], negative_weight: float) -> np.ndarray:
    """The seed's unit embedding, or the prototype of several seeds less the negatives'."""
    if not seeds:
        raise ValueError("mining needs at least one seed pair")
    if len(seeds) == 1 and not negatives:
        return np.asarray(model.encode(seeds[0], normalize=True, precision="fp32"), dtype=np.float32)
    vectors = np.asarray(model.encode([*seeds, *negatives], normalize=True, precision="fp32"), dtype=np.float32)
    return prototype_query(vectors[: len(seeds)], vectors[len(seeds) :], negative_weight)


def _all_scores(
    scorer: RowScorer,
    rows: torch.Tensor,
    query: np.ndarray,
    block: int,
    dtype: torch.dtype,
    on_block: Callable[[int, int], None] | None,
) -> np.ndarray:
    """The N × N matrix of cos(query, emb(a, b)) over ``rows`` × ``rows``, heads in blocks of ``block``."""
    n = len(rows)
    parts = scorer.query_parts(query)
    targets = torch.stack([parts["forward"][1]] + ([parts["reversed"][1]] if "reversed" in parts else []))
    forward = np.zeros((n, n), dtype=np.float32)
    backward = np.zeros((n, n), dtype=np.float32) if "reversed" in parts else None
    blocks = range(0, n, block)
    for i, start in enumerate(blocks):
        heads = rows[start : start + block]
        dots = scorer.prompt_dots(heads.repeat_interleave(n), rows.repeat(len(heads)), targets, dtype)
        dots_np = dots.numpy().reshape(len(heads), n, len(targets))
        forward[start : start + len(heads)] = parts["forward"][0] * dots_np[:, :, 0]
        if backward is not None:
            # f̂(a, b) with the reversed target scores pair (b, a): column a of the reversed matrix
            backward[:, start : start + len(heads)] = parts["reversed"][0] * dots_np[:, :, 1].T
        if on_block is not None:
            on_block(i + 1, len(blocks))
    if backward is not None:
        forward += backward
        del backward
    if "offset" in parts:
        forward += scorer.offset_matrix(rows, parts["offset"])
    return forward
