"""The completion objective of a distillation: rank a pair's own tail above the vocabulary (``relvec distill
--rank-weight``).

Open completion asks, for a relation r and a head c, which word d makes (c, d) a pair of r. A student trained only to
imitate its teacher on plausible pairs never sees (c, d) for an implausible d and scores such pairs unpredictably, so
over a vocabulary the relation score alone collapses. This loss shows it those pairs: for a related training pair
(c, d) whose relation the teacher gives as t = T(c, d), the student's cos(t, f(c, d')) must be highest at d' = d,
against the tails of the other chosen pairs (plausible words) and ``negatives`` random vocabulary words:

    loss = CE over d' of cos(t, f(c, d')) / τ, the target d' = d      (candidates equal to d other than d masked)

f is the student's forward prompt vector; each step costs pairs × candidates pair-network passes (cheap for the
student: its word parts are computed once per candidate word).
"""

from __future__ import annotations

import torch
from torch import nn

from relvec.encoders.pair_network import PairNetwork


def tail_ranking_loss(
    network: PairNetwork,
    table: torch.Tensor,
    heads: torch.Tensor,
    tails: torch.Tensor,
    targets: torch.Tensor,
    generator: torch.Generator,
    negatives: int,
    temperature: float = 0.05,
) -> torch.Tensor:
    """The loss of the module docstring for the pairs (heads[i], tails[i]) (table rows) with teacher vectors
    ``targets[i]``; candidates: every given tail and ``negatives`` random table rows."""
    if len(heads) == 0:
        return targets.sum() * 0.0
    random_rows = torch.randint(0, len(table), (negatives,), generator=generator)
    candidates = torch.cat([tails, random_rows])
    head_a, _, head_u, _ = network.word_parts(table[heads])
    _, tail_b, _, tail_v = network.word_parts(table[candidates])
    # f(c_i, d'_j) for every pair i and candidate j, broadcast: (pairs, candidates, out_dim)
    out = network.combine(head_a[:, None], tail_b[None], head_u[:, None], tail_v[None])
    scores = nn.functional.cosine_similarity(out, targets[:, None].to(out.dtype), dim=-1) / temperature
    own = torch.arange(len(heads))
    same = candidates[None] == tails[:, None]  # a candidate that is the pair's own tail word: not a negative
    same[own, own] = False
    scores = scores.masked_fill(same, float("-inf"))
    return nn.functional.cross_entropy(scores, own)
