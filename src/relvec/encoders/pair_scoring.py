"""Scoring table-row pairs against a query without building their vectors: the engine of exhaustive completion,
vocabulary mining and serving with a static relation model.

For a unit query q cut by the model's :class:`~relvec.encoders.layout.Layout`, cos(q, emb(h, t)) = Σ factor ·
⟨q part, unit part of (h, t)⟩. The prompt parts come from the pair network's hidden layer (:meth:`PairScorer.
prompt_dots`), the offset part from per-word dot products (:meth:`PairScorer.offset_dots`). ``dtype`` bfloat16 runs
the large products in bf16 (scores to ~1e-2): a fast pass whose shortlist is then scored exactly
(:func:`rescored_top`), which gives fp32's top k.

Rankings here break exact ties by row order (:func:`top_indices`), so answers are the same on every CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch

from relvec.encoders.layout import Layout
from relvec.encoders.pair_network import PairNetwork

BLOCK = 8192  # pairs per matrix product
ENCODE_BLOCK = 1024  # pairs per block when vectors are built: its intermediates stay in the core's cache


class WordTables(NamedTuple):
    """What each table word brings to a pair, computed once per word (:meth:`PairNetwork.word_parts`)."""

    head_linear: torch.Tensor  # Wa·z(x): the word as a head
    tail_linear: torch.Tensor  # Wb·z(x): the word as a tail
    head_bilinear: torch.Tensor  # U·z(x)
    tail_bilinear: torch.Tensor  # V·z(x)
    vectors: torch.Tensor  # x, the unit word vector (offsets)


def pair_hidden(
    tables: WordTables, network: PairNetwork, heads: torch.Tensor, tails: torch.Tensor, low: torch.dtype | None = None
) -> torch.Tensor:
    """The hidden layer h of table-row pairs, for inference: :meth:`PairNetwork.hidden_of`'s numbers with fewer
    passes over memory (gathers by index_select, sums in place, the bilinear product added by addmm), the
    bilinear product in ``low`` (e.g. bf16, fp32 accumulation) when given."""
    product = torch.index_select(tables.head_bilinear, 0, heads)
    product.mul_(torch.index_select(tables.tail_bilinear, 0, tails))
    base = torch.index_select(tables.head_linear, 0, heads)
    base.add_(torch.index_select(tables.tail_linear, 0, tails)).add_(network.c.detach())
    p_t = network.p.detach().T
    if low is None:
        return torch.addmm(base, product, p_t).relu_()
    return base.add_((product.to(low) @ p_t.to(low)).float()).relu_()


@runtime_checkable
class RowScorer(Protocol):
    """A model that scores pairs of its word table against a query without building their vectors (a static
    relation model). Mining, exhaustive completion and the server take any model with these methods."""

    def rows_of(self, words: Sequence[str]) -> torch.Tensor: ...

    def query_parts(self, query: np.ndarray) -> dict[str, tuple[float, torch.Tensor]]: ...

    def prompt_dots(
        self, heads: torch.Tensor, tails: torch.Tensor, targets: torch.Tensor, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor: ...

    def offset_matrix(self, rows: torch.Tensor, part: tuple[float, torch.Tensor]) -> np.ndarray: ...

    def score_rows(
        self, heads: torch.Tensor, tails: torch.Tensor, query: np.ndarray, dtype: torch.dtype = torch.float32
    ) -> np.ndarray: ...


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest ``scores``, best first, exact ties in index order (the same on every CPU)."""
    n = min(int(n), len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n < len(scores):
        kth = np.partition(scores, len(scores) - n)[len(scores) - n]
        candidates = np.flatnonzero(scores >= kth)  # every tie at the boundary, in index order
    else:
        candidates = np.arange(len(scores))
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order[:n]]


def rescored_top(
    fast: np.ndarray, take: int, shortlist: int, exact: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``take`` (indices, exact scores) of a fast pass's ``fast`` scores: its best ``shortlist`` finite
    entries are scored again by ``exact`` (indices -> scores). The others keep fast scores below the shortlist's,
    so they cannot reach the top unless the fast pass's error exceeds the whole shortlist's spread."""
    short = top_indices(fast, max(shortlist, take))
    short = np.sort(short[np.isfinite(fast[short])])  # index order, so exact ties break as everywhere else
    scores = np.asarray(exact(short), dtype=np.float32)
    best = top_indices(scores, take)
    return short[best], scores[best]


class PairScorer:
    """Scores of table-row pairs for a pair network and a layout; ``tables`` gives the current word tables (they
    grow as out-of-vocabulary words come)."""

    def __init__(self, network: PairNetwork, layout: Layout, tables: Callable[[], WordTables]) -> None:
        self.network, self.layout, self.tables = network, layout, tables
        self._squares: torch.Tensor | None = None  # |e(w)|² of the table rows, for offset scores

    def score_rows(
        self, heads: torch.Tensor, tails: torch.Tensor, query: np.ndarray, dtype: torch.dtype = torch.float32
    ) -> np.ndarray:
        """cos(query, emb(head, tail)) for a unit ``query`` and table-row pairs."""
        parts = self.layout.split(torch.as_tensor(np.asarray(query, dtype=np.float32)))
        scale, forward = parts["forward"]
        scores = scale * self.prompt_dots(heads, tails, forward[None], dtype)[:, 0]
        if "reversed" in parts:
            scale, backward = parts["reversed"]
            scores += scale * self.prompt_dots(tails, heads, backward[None], dtype)[:, 0]
        if "offset" in parts:
            scale, offset = parts["offset"]
            scores += scale * self.offset_dots(heads, tails, offset)
        return scores.numpy()

    def prompt_dots(
        self, heads: torch.Tensor, tails: torch.Tensor, targets: torch.Tensor, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """(pairs, targets) dot products of the unit prompt vectors f̂(head, tail) with each row of ``targets``,
        block by block, without keeping the vectors."""
        # When hidden < out_dim, f = W2·h + b2 is never built: f·q = h·(W2ᵀq) + b2·q and
        # |f|² = hᵀ(W2ᵀW2)h + 2(W2ᵀb2)·h + |b2|² cost hidden² per pair instead of hidden·out_dim; a wider network
        # builds f (hidden·out_dim) and takes its dots directly.
        net = self.network
        with torch.inference_mode():
            w2, b2 = net.w2.detach(), net.b2.detach()
            if net.hidden < net.out_dim:
                projected, shift = (w2.T @ targets.T).to(dtype), targets @ b2
                gram, lift, bias = (w2.T @ w2).to(dtype), w2.T @ b2, b2 @ b2

                def dots(hidden: torch.Tensor) -> torch.Tensor:
                    low = hidden.to(dtype)
                    squared = ((low @ gram).float() * hidden).sum(1) + 2 * (hidden @ lift) + bias
                    norm = squared.clamp_min(1e-24).sqrt().clamp_min(1e-12)
                    return ((low @ projected).float() + shift) / norm[:, None]
            else:
                w2t, targets_t = w2.T.to(dtype), targets.T.contiguous()

                def dots(hidden: torch.Tensor) -> torch.Tensor:
                    f = self.output(hidden, w2t)
                    return (f @ targets_t) / f.norm(dim=1, keepdim=True).clamp_min(1e-12)

            out = torch.empty((len(heads), targets.shape[0]), dtype=torch.float32)
            hidden_of = self._hidden_function(heads, tails, dtype)
            for start in range(0, len(heads), BLOCK):
                h, t = heads[start : start + BLOCK], tails[start : start + BLOCK]
                out[start : start + len(h)] = dots(hidden_of(h, t))
        return out

    def output(self, hidden: torch.Tensor, w2t: torch.Tensor) -> torch.Tensor:
        """f = W2·h + b2 (float32) from the hidden layer, the product in ``w2t``'s dtype (W2ᵀ)."""
        if w2t.dtype == torch.float32:
            return torch.addmm(self.network.b2.detach(), hidden, w2t)
        return (hidden.to(w2t.dtype) @ w2t).float().add_(self.network.b2.detach())

    def _hidden_function(
        self, heads: torch.Tensor, tails: torch.Tensor, dtype: torch.dtype
    ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """h(heads, tails) for blocks of these pairs. When they share a word (completion: C:?), its Wa·x + c is a
        constant and (U·x ⊙ V·y)·Pᵀ = V·y · (diag(U·x)·Pᵀ): one product over the other words."""
        tables, net = self.tables(), self.network
        shared = shared_word(heads, tails) if len(heads) > 1 else None
        low = None if dtype == torch.float32 else dtype
        if shared is None:
            return lambda h, t: pair_hidden(tables, net, h, t, low)
        head_shared, row = shared
        if head_shared:
            own, other, linear, bilinear = (
                tables.head_linear,
                tables.head_bilinear,
                tables.tail_linear,
                tables.tail_bilinear,
            )
        else:
            own, other, linear, bilinear = (
                tables.tail_linear,
                tables.tail_bilinear,
                tables.head_linear,
                tables.head_bilinear,
            )
        constant = own[row] + net.c.detach()
        mixed = (other[row][:, None] * net.p.detach().T).to(dtype)

        def hidden(h: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            rows = t if head_shared else h
            return torch.relu(linear[rows] + constant + (bilinear[rows].to(dtype) @ mixed).float())

        return hidden

    def offset_dots(self, heads: torch.Tensor, tails: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """unit(e(t) − e(h))·q from per-word numbers: (e(t)·q − e(h)·q) / √(|e(t)|² + |e(h)|² − 2 e(t)·e(h));
        when the pairs share a word (completion), its dots come from one product over the other words."""
        vectors = self.tables().vectors
        with torch.inference_mode():
            if self._squares is None or len(self._squares) != len(vectors):
                self._squares = (vectors * vectors).sum(1)
            squares = self._squares
            shared = shared_word(heads, tails)
            if shared is not None:
                head_shared, row = shared
                word, others, sign = vectors[row], (tails if head_shared else heads), (1.0 if head_shared else -1.0)
                dots = _word_dots(vectors, others, torch.stack([target, word], dim=1))
                along, cross = sign * (dots[:, 0] - word @ target), dots[:, 1]
            else:
                along = (
                    _word_dots(vectors, tails, target[:, None])[:, 0]
                    - _word_dots(vectors, heads, target[:, None])[:, 0]
                )
                blocks = zip(heads.split(BLOCK), tails.split(BLOCK), strict=True)
                cross = torch.cat([(vectors[h] * vectors[t]).sum(1) for h, t in blocks])
            distance = (squares[tails] + squares[heads] - 2 * cross).clamp_min(0).sqrt().clamp_min(1e-12)
            return along / distance

    def offset_matrix(self, rows: torch.Tensor, part: tuple[float, torch.Tensor]) -> np.ndarray:
        """factor · q_o · (e_b − e_a) / ‖e_b − e_a‖ for every (a, b) of ``rows`` × ``rows`` (an N × N float32
        matrix, from E·q_o and E·Eᵀ; built in place). The squared norms are the rows' own (a float16 table's rows
        are unit only to ~1e-3)."""
        scale, query = part
        table = self.tables().vectors[rows]
        projection = (table @ query).numpy().astype(np.float32)
        squares = (table * table).sum(1).numpy().astype(np.float32)
        out = (table @ table.T).numpy().astype(np.float32)  # then ‖e_b − e_a‖² = |e_a|² + |e_b|² − 2 e_a·e_b
        np.multiply(out, -2.0, out=out)
        np.add(out, squares[:, None], out=out)
        np.add(out, squares[None, :], out=out)
        np.maximum(out, 1e-12, out=out)
        np.sqrt(out, out=out)
        np.divide(projection[None, :] - projection[:, None], out, out=out)
        np.multiply(out, scale, out=out)
        return out


def shared_word(heads: torch.Tensor, tails: torch.Tensor) -> tuple[bool, int] | None:
    """(True, row) when every pair has the head ``row`` (completion: C:?), (False, row) when every pair has the
    tail ``row``, else None."""
    for head_shared, same in ((True, heads), (False, tails)):
        if len(same) and bool((same == same[0]).all()):
            return head_shared, int(same[0])
    return None


def _word_dots(vectors: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """``vectors[rows] @ columns``, over the whole table first when ``rows`` cover much of it."""
    return vectors[rows] @ columns if 2 * len(rows) < len(vectors) else (vectors @ columns)[rows]


def require_row_scorer(model: Any, what: str) -> RowScorer:
    """``model`` when it is a :class:`RowScorer`, else a ValueError saying ``what`` needs one."""
    if not isinstance(model, RowScorer):
        raise ValueError(f"{what} needs a static relation model (see `relvec distill`)")
    return model
