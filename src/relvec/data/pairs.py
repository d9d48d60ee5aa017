"""Word pairs to distil a static relation model on, from sources that never touch an evaluation split.

Sources: SemEval-2012's train and valid pairs (positives and negatives), the lexical-relation sets' train and
valid pairs, WordNet relation pairs (optional, :mod:`relvec.data.wordnet`), random pairs of a vocabulary and
pairs of nearby words. Every pair of every analogy split (valid and test: the valid splits choose the student's
epoch) and of every lexical-relation test split is excluded, in both orders and in any case, as
``relvec data wordnet`` does.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from relvec.data.analogy import ANALOGY_DATASETS, analogy_path, load_analogy
from relvec.data.base import Pair
from relvec.data.lexical import LEXICAL_DATASETS, lexical_relation_path, load_lexical_relation
from relvec.data.relation_similarity import load_relation_similarity

# Lexical-relation labels that mean "no relation".
UNRELATED_LABELS = frozenset({"random", "RANDOM", "false"})


def excluded_pairs(data_dir: str | Path | None = None) -> set[Pair]:
    """Every pair of every analogy split and every lexical-relation test split present, lower-cased, both orders."""
    pairs: set[Pair] = set()
    for name in ANALOGY_DATASETS:
        for split in ("valid", "test"):
            try:
                present = analogy_path(name, split, data_dir).is_file()
            except (ValueError, FileNotFoundError):
                present = False
            if present:
                for q in load_analogy(name, split, data_dir):
                    pairs.update([q.stem, *q.choices])
    for name in LEXICAL_DATASETS:
        if lexical_relation_path(name, "test", data_dir) is not None:
            pairs.update((e.head, e.tail) for e in load_lexical_relation(name, "test", data_dir))
    lowered = {(a.lower(), b.lower()) for a, b in pairs}
    return lowered | {(b, a) for a, b in lowered}


def semeval_pairs(data_dir: str | Path | None = None, data: str = "semeval2012") -> list[Pair]:
    """Positives and negatives of the relation-similarity data's train and valid splits."""
    out: list[Pair] = []
    for split in ("train", "valid"):
        for record in load_relation_similarity(data, split, data_dir):
            out += [*record.positives, *record.negatives]
    return out


def lexical_pairs(data_dir: str | Path | None = None) -> list[Pair]:
    """The lexical-relation sets' train and valid pairs (never their test splits)."""
    out: list[Pair] = []
    for name in LEXICAL_DATASETS:
        for split in ("train", "valid"):
            if lexical_relation_path(name, split, data_dir) is not None:
                out += [(e.head, e.tail) for e in load_lexical_relation(name, split, data_dir)]
    return out


def lexical_entries_by_label(data_dir: str | Path | None = None) -> dict[str, list[Pair]]:
    """The lexical sets' train and valid pairs by "set:label", the labels that mean "no relation" left out."""
    out: dict[str, list[Pair]] = {}
    for name in LEXICAL_DATASETS:
        for split in ("train", "valid"):
            if lexical_relation_path(name, split, data_dir) is not None:
                for e in load_lexical_relation(name, split, data_dir):
                    if e.relation not in UNRELATED_LABELS:
                        out.setdefault(f"{name}:{e.relation}", []).append((e.head, e.tail))
    return out


def random_pairs(vocabulary: Sequence[str], n: int, seed: int = 0) -> list[Pair]:
    """``n`` ordered pairs of distinct vocabulary words, uniformly at random (seeded)."""
    if n <= 0 or len(vocabulary) < 2:
        return []
    rng = np.random.default_rng(seed)
    heads = rng.integers(0, len(vocabulary), size=n)
    shift = rng.integers(1, len(vocabulary), size=n)  # never the head itself
    return [(vocabulary[h], vocabulary[(h + s) % len(vocabulary)]) for h, s in zip(heads, shift, strict=True)]


def neighbour_pairs(vocabulary: Sequence[str], vectors: np.ndarray, n: int, k: int = 10, seed: int = 0) -> list[Pair]:
    """``n`` pairs (word, one of its ``k`` nearest words by cosine of ``vectors``) for seeded random words."""
    if n <= 0 or len(vocabulary) <= k:
        return []
    rng = np.random.default_rng(seed)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    heads = rng.choice(len(vocabulary), size=min(len(vocabulary), -(-n // 2)), replace=False)
    out: list[Pair] = []
    for start in range(0, len(heads), 1024):
        block = heads[start : start + 1024]
        scores = unit[block] @ unit.T
        scores[np.arange(len(block)), block] = -np.inf
        near = np.argpartition(-scores, k, axis=1)[:, :k]
        for head, row in zip(block, near, strict=True):
            tail = int(row[rng.integers(0, k)])
            pair = (vocabulary[head], vocabulary[tail])
            out += [pair, (pair[1], pair[0])]  # both directions: direction is what the student must learn
    return out[:n]


def distillation_pairs(
    sources: dict[str, Iterable[Pair]], exclude: set[Pair], limit: int | None = None, seed: int = 0
) -> tuple[list[Pair], dict[str, int]]:
    """Distinct pairs of ``sources`` (in their order) minus ``exclude`` (compared lower-cased), shuffled and cut
    to ``limit``; returns them and how many each source contributed."""
    seen: set[Pair] = set()
    counts: dict[str, int] = {}
    out: list[Pair] = []
    for name, pairs in sources.items():
        counts[name] = 0
        for a, b in pairs:
            a, b = a.strip(), b.strip()
            key = (a.lower(), b.lower())
            if not a or not b or a == b or key in exclude or (a, b) in seen:
                continue
            seen.add((a, b))
            out.append((a, b))
            counts[name] += 1
    random.Random(seed).shuffle(out)
    return (out if limit is None else out[:limit]), counts
