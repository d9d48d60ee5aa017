"""The static relation model's pair network: a relation vector from the word vectors of a pair's two words.

    z = x + M2·gelu(M1·x + m1) + m2          (optional word layer, ``word_hidden`` units; z = x without it)
    h = relu(Wa·z(x) + Wb·z(y) + P·((U·z(x)) ⊙ (V·z(y))) + c),    f(x, y) = W2·h + b2

Everything before the ⊙ depends on one word only, so :meth:`PairNetwork.word_parts` is computed once per
table word: the word layer costs nothing per pair. A pair then costs the rank×hidden bilinear product (which
tells a:b from b:a and carries the interaction a mean of the two words cannot) and the hidden×out_dim output
layer (:meth:`PairNetwork.flops_per_pair`).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _positive(name: str, value: object, zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
        raise ValueError(f"{name} must be a {'non-negative' if zero else 'positive'} integer, got {value!r}")


class PairNetwork(nn.Module):
    """f(x, y) of the module docstring: ``dim`` word dims, ``hidden`` units, bilinear ``rank``, ``out_dim``
    outputs, ``word_hidden`` units in the per-word layer (0: none)."""

    def __init__(self, dim: int, hidden: int, rank: int, out_dim: int, word_hidden: int = 0) -> None:
        super().__init__()
        for name, value in (("dim", dim), ("hidden", hidden), ("rank", rank), ("out_dim", out_dim)):
            _positive(name, value)
        _positive("word_hidden", word_hidden, zero=True)
        self.dim, self.hidden, self.rank, self.out_dim, self.word_hidden = dim, hidden, rank, out_dim, word_hidden
        self.dropout = 0.0  # on h while training only (a training setting: not saved)
        scale_in, scale_h, scale_r = 1 / math.sqrt(dim), 1 / math.sqrt(hidden), 1 / math.sqrt(rank)
        self.word: nn.Module | None = None
        if word_hidden:
            self.word = nn.Sequential(nn.Linear(dim, word_hidden), nn.GELU(), nn.Linear(word_hidden, dim))
        self.wa = nn.Parameter(torch.randn(hidden, dim) * scale_in)
        self.wb = nn.Parameter(torch.randn(hidden, dim) * scale_in)
        self.u = nn.Parameter(torch.randn(rank, dim) * scale_in)
        self.v = nn.Parameter(torch.randn(rank, dim) * scale_in)
        self.p = nn.Parameter(torch.randn(hidden, rank) * scale_r)
        self.c = nn.Parameter(torch.zeros(hidden))
        self.w2 = nn.Parameter(torch.randn(out_dim, hidden) * scale_h)
        self.b2 = nn.Parameter(torch.zeros(out_dim))

    def word_parts(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per word: (Wa·z, Wb·z, U·z, V·z), the parts a word brings as head or as tail."""
        z = vectors if self.word is None else vectors + self.word(vectors)
        return z @ self.wa.T, z @ self.wb.T, z @ self.u.T, z @ self.v.T

    def combine(
        self, head_a: torch.Tensor, tail_b: torch.Tensor, head_u: torch.Tensor, tail_v: torch.Tensor
    ) -> torch.Tensor:
        """f from the parts of the heads (Wa·z, U·z) and the tails (Wb·z, V·z), row by row."""
        return self.hidden_of(head_a, tail_b, head_u, tail_v) @ self.w2.T + self.b2

    def hidden_of(
        self,
        head_a: torch.Tensor,
        tail_b: torch.Tensor,
        head_u: torch.Tensor,
        tail_v: torch.Tensor,
        low: torch.dtype | None = None,
    ) -> torch.Tensor:
        """The hidden layer h of f, row by row (``low``: the bilinear product in that precision, e.g. bf16)."""
        product = head_u * tail_v
        bilinear = product @ self.p.T if low is None else (product.to(low) @ self.p.T.to(low)).float()
        hidden = torch.relu(head_a + tail_b + bilinear + self.c)
        if self.training and self.dropout > 0:
            hidden = nn.functional.dropout(hidden, self.dropout)
        return hidden

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        ax, _, ux, _ = self.word_parts(x)
        _, by, _, vy = self.word_parts(y)
        return self.combine(ax, by, ux, vy)

    def flops_per_pair(self) -> int:
        """Multiply-adds of one pair once the word parts are known: the bilinear term and the output layer."""
        return self.rank * self.hidden + self.hidden * self.out_dim
