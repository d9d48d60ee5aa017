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

With ``--rank-query partner`` the relation comes from *another* pair: t = T(a, b) for a pair (a, b) of the same
relation class in the step (a SemEval-2012 relation, a lexical set's label, a WordNet relation; each reversed pair
its own class), which is open completion itself, A:B::C:? (the own-pair version teaches the tail of a pair's own
vector, which does not transfer to a relation given by another pair). Only train/valid splits and WordNet give
classes, and the pairs are the distillation's, from which every evaluation split is already removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from relvec.data.pairs import lexical_entries_by_label
from relvec.data.relation_similarity import load_relation_similarity
from relvec.data.wordnet import load_wordnet, wordnet_pairs
from relvec.encoders.pair_network import PairNetwork

Pair = tuple[str, str]
RANK_QUERIES = ("own", "partner")


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
    """The loss of the module docstring for the pairs (heads[i], tails[i]) (table rows) with relation vectors
    ``targets[i]`` (their own teacher vectors, or a partner pair's); candidates: every given tail and ``negatives``
    random table rows."""
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


def relation_classes(
    data_dir: str | None, wordnet: bool = False, min_count: int = 1, reverse: bool = False
) -> dict[Pair, str]:
    """A relation class for each related training pair (stripped words): SemEval-2012 train/valid positives by
    relation, the lexical sets' train/valid pairs by set and label (unrelated labels left out), WordNet's by
    relation type; with ``reverse`` each reversed pair in its own class. A pair in several keeps its first."""
    classes: dict[Pair, str] = {}

    def add(pairs: Sequence[Pair], name: str) -> None:
        for a, b in pairs:
            classes.setdefault((a.strip(), b.strip()), name)

    for split in ("train", "valid"):
        for record in load_relation_similarity("semeval2012", split, data_dir):
            add(record.positives, f"semeval:{record.relation_type}")
    for label, pairs in lexical_entries_by_label(data_dir).items():
        add(pairs, f"lexical:{label}")
    if wordnet:
        for kind, pairs in sorted(wordnet_pairs(load_wordnet(), min_count=min_count).items()):
            add(pairs, f"wordnet:{kind}")
    if reverse:
        for (a, b), name in list(classes.items()):
            classes.setdefault((b, a), f"{name}~reversed")
    return classes


def partner_rows(classes: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, partners): every row of ``classes`` (class ids, −1: none) whose class has another row, and for each
    a different row of the same class, drawn at random (a random cycle through each class's rows)."""
    rows = (classes >= 0).nonzero()[:, 0]
    rows = rows[torch.randperm(len(rows), generator=generator)]
    rows = rows[torch.argsort(classes[rows], stable=True)]  # grouped by class, random within a class
    if len(rows) < 2:
        return rows[:0], rows[:0]
    cls = classes[rows]
    position = torch.arange(len(rows))
    starts = torch.ones(len(rows), dtype=torch.bool)
    starts[1:] = cls[1:] != cls[:-1]
    group_start = torch.cummax(torch.where(starts, position, torch.zeros_like(position)), dim=0).values
    nxt = torch.clamp(position + 1, max=len(rows) - 1)
    partner = torch.where((position + 1 < len(rows)) & (cls[nxt] == cls), nxt, group_start)
    keep = partner != position  # a class with one row in the step has no partner
    return rows[keep], rows[partner[keep]]
