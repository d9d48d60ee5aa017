"""Relation sampling for contrastive training, apart from the trainer (as sentence-transformers keeps its samplers).

A training record is one relation with its positive and negative pairs. :func:`prepare_records` filters and
augments the records once; :func:`sample_epoch` draws, for one epoch, the order of the relations and each
relation's positives and negatives from one seeded stream, so every process of a data-parallel run (and a
resumed run) draws the same samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from relvec.data import RelationRecord, augment_negatives, exclude_relations, group_by_parent

Pair = tuple[str, str]


def prepare_records(records: Sequence[RelationRecord], args: Any) -> list[RelationRecord]:
    """Apply exclusion, parent grouping and negative augmentation, in that order (``args``: the training
    arguments' ``exclude_relations``, ``parent_relations`` and ``augment_negatives``)."""
    out = exclude_relations(records, args.exclude_relations)
    if args.parent_relations:
        out = group_by_parent(out)
    if args.augment_negatives:
        out = augment_negatives(out)
    usable = [r for r in out if len(r.positives) >= 2 and r.negatives]
    if not usable:
        raise ValueError("no relation has at least two positives and one negative after filtering")
    return usable


def sample_relation(
    record: RelationRecord, num_positive: int, num_negative: int, rng: np.random.Generator, num_reversed: int = 0
) -> tuple[list[Pair], list[Pair]]:
    """Up to ``num_positive`` positives and ``num_negative`` negatives, sampled without replacement.

    With ``num_reversed``, up to that many of the sampled positives are added reversed to the negatives
    (never a reversal that is itself a positive, as for symmetric relations), a small fixed share per step.
    """
    pos = [record.positives[i] for i in sorted(rng.permutation(len(record.positives))[:num_positive])]
    neg = [record.negatives[i] for i in sorted(rng.permutation(len(record.negatives))[:num_negative])]
    if num_reversed:
        own, taken = set(record.positives), set(neg)
        flipped = [(t, h) for h, t in pos if (t, h) not in own and (t, h) not in taken]
        neg += [flipped[i] for i in sorted(rng.permutation(len(flipped))[:num_reversed])]
    return pos, neg


def sample_epoch(
    records: Sequence[RelationRecord], args: Any, epoch: int
) -> tuple[np.ndarray, list[tuple[list[Pair], list[Pair]]]]:
    """The relations' order for ``epoch`` and, in that order, each relation's (positives, negatives), all from
    the stream seeded by ``(args.seed, epoch)`` (``args``: ``num_positive``, ``num_negative``,
    ``reversed_negatives``, ``seed``)."""
    rng = np.random.default_rng([args.seed, epoch])
    order = rng.permutation(len(records))
    samples = [
        sample_relation(records[int(i)], args.num_positive, args.num_negative, rng, args.reversed_negatives)
        for i in order
    ]
    return order, samples
