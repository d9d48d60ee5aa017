"""Relation-similarity data (SemEval-2012 Task 2 format): loading, filtering, negatives, and analogy
questions built from the ``valid`` split for model selection."""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relvec.data.analogy import AnalogyQuestion
from relvec.data.base import HUB_SPLIT, DataFormatError, Pair, data_dir, iter_jsonl, read_pair
from relvec.files import write_text

SEMEVAL_HUB_ID = "relbert/semeval2012_relational_similarity"


@dataclass
class RelationRecord:
    """One relation of the SemEval-2012 training format: positive and negative example pairs."""

    relation_type: str
    positives: list[Pair] = field(default_factory=list)
    negatives: list[Pair] = field(default_factory=list)

    @property
    def parent(self) -> str:
        """The parent relation: the leading number of ``relation_type`` (``"8"`` for ``"8d"``)."""
        digits = ""
        for ch in self.relation_type:
            if not ch.isdigit():
                break
            digits += ch
        return digits or self.relation_type


def relation_similarity_path(
    name_or_path: str | Path, split: str = "train", data_dir_: str | Path | None = None
) -> Path:
    """``semeval2012`` (or ``semeval2012/emnlp2021``) under the data dir, a folder, or a JSONL file."""
    if split not in ("train", "valid"):
        raise ValueError(f"relation-similarity split must be 'train' or 'valid', got {split!r}")
    candidate = Path(name_or_path)
    if candidate.is_file() or candidate.suffix == ".jsonl":
        return candidate
    folder = candidate if candidate.is_dir() else data_dir(data_dir_) / candidate
    path = folder / f"{split}.jsonl"
    if not path.is_file():
        raise ValueError(f"no {split} split for {name_or_path!r} ({path} not found)")
    return path


def load_relation_similarity(
    name_or_path: str | Path = "semeval2012",
    split: str = "train",
    data_dir: str | Path | None = None,
) -> list[RelationRecord]:
    """Load relation records; empty relations are skipped with a warning."""
    path = relation_similarity_path(name_or_path, split, data_dir)
    records: list[RelationRecord] = []
    for number, obj in iter_jsonl(path):
        record = _relation_record(obj, f"{path}:{number}")
        if not record.positives:
            warnings.warn(f"{path}:{number}: relation {record.relation_type!r} has no positives; skipped", stacklevel=2)
            continue
        records.append(record)
    if not records:
        raise DataFormatError(f"{path}: no usable relations")
    return records


def _relation_record(obj: dict[str, Any], where: str) -> RelationRecord:
    for key in ("relation_type", "positives", "negatives"):
        if key not in obj:
            raise DataFormatError(f"{where}: missing field {key!r}")
    if not isinstance(obj["relation_type"], str) or not obj["relation_type"]:
        raise DataFormatError(f"{where}: 'relation_type' must be a non-empty string")
    lists = {}
    for key in ("positives", "negatives"):
        if not isinstance(obj[key], list):
            raise DataFormatError(f"{where}: {key!r} must be a list of pairs")
        lists[key] = [read_pair(p, where, f"{key}[{i}]") for i, p in enumerate(obj[key])]
    return RelationRecord(obj["relation_type"], lists["positives"], lists["negatives"])


def load_relation_similarity_from_hub(split: str = "train") -> list[RelationRecord]:  # pragma: no cover
    """Load ``relbert/semeval2012_relational_similarity`` (needs network and ``datasets``)."""
    from datasets import load_dataset

    rows = load_dataset(SEMEVAL_HUB_ID, split=HUB_SPLIT.get(split, split))
    return [_relation_record(dict(r), f"{SEMEVAL_HUB_ID}[{i}]") for i, r in enumerate(rows)]


def write_relation_records(path: str | Path, records: Sequence[RelationRecord]) -> Path:
    """Records as the SemEval JSONL format (one relation per line), written atomically."""
    lines = [
        json.dumps(
            {
                "relation_type": r.relation_type,
                "positives": [list(p) for p in r.positives],
                "negatives": [list(p) for p in r.negatives],
            },
            ensure_ascii=False,
        )
        for r in records
    ]
    return write_text(path, "".join(line + "\n" for line in lines))


def exclude_relations(records: Sequence[RelationRecord], names: Sequence[str]) -> list[RelationRecord]:
    """Drop relations by name (``"1b"``) or parent (``"1"``); their positives also leave every negative list."""
    drop = set(names)
    if not drop:
        return list(records)
    known = {r.relation_type for r in records} | {r.parent for r in records}
    unknown = sorted(drop - known)
    if unknown:
        raise ValueError(f"exclude_relations names unknown relations: {', '.join(unknown)}")
    removed = {p for r in records if r.relation_type in drop or r.parent in drop for p in r.positives}
    kept = [r for r in records if r.relation_type not in drop and r.parent not in drop]
    return [RelationRecord(r.relation_type, r.positives, [n for n in r.negatives if n not in removed]) for r in kept]


def group_by_parent(records: Sequence[RelationRecord]) -> list[RelationRecord]:
    """Merge sub-relations into their parent (``8a``…``8h`` -> ``8``); a parent's own positives leave its negatives."""
    groups: dict[str, RelationRecord] = {}
    for r in records:
        group = groups.setdefault(r.parent, RelationRecord(r.parent))
        group.positives.extend(r.positives)
        group.negatives.extend(r.negatives)
    for group in groups.values():
        own = set(group.positives)
        group.negatives = list(dict.fromkeys(n for n in group.negatives if n not in own))
    return list(groups.values())


def merge_splits(splits: Sequence[Sequence[RelationRecord]]) -> list[RelationRecord]:
    """One record per relation type, in first-seen order, with the positives and negatives of every split
    joined (duplicates dropped; a pair that is one of the relation's positives is never its negative)."""
    merged: dict[str, RelationRecord] = {}
    for records in splits:
        for r in records:
            group = merged.setdefault(r.relation_type, RelationRecord(r.relation_type))
            group.positives = list(dict.fromkeys([*group.positives, *r.positives]))
            group.negatives = [*group.negatives, *r.negatives]
    for group in merged.values():
        own = set(group.positives)
        group.negatives = list(dict.fromkeys(n for n in group.negatives if n not in own))
    return list(merged.values())


def augment_negatives(records: Sequence[RelationRecord]) -> list[RelationRecord]:
    """Add every other relation's positives to each relation's negatives (no duplicates, never own positives)."""
    out = []
    for r in records:
        own = set(r.positives)
        extra = [p for other in records if other is not r for p in other.positives]
        negatives = list(dict.fromkeys(n for n in [*r.negatives, *extra] if n not in own))
        out.append(RelationRecord(r.relation_type, r.positives, negatives))
    return out


def validation_questions(
    records: Sequence[RelationRecord], per_relation: int = 5, num_choices: int = 5, seed: int = 0
) -> list[AnalogyQuestion]:
    """Analogy questions built from held-out relation pairs (the SemEval ``valid`` split).

    Stem and answer are two positives of one relation; the distractors are positives of
    relations with a different parent. No analogy test data is involved.
    """
    rng = random.Random(seed)
    questions = []
    for record in records:
        positives = list(dict.fromkeys(record.positives))
        others = [p for r in records if r.parent != record.parent for p in r.positives if p not in positives]
        if len(positives) < 2 or len(others) < num_choices - 1:
            continue
        for i in range(min(per_relation, len(positives))):
            stem, answer_pair = positives[i], positives[(i + 1) % len(positives)]
            choices = [answer_pair, *rng.sample(others, num_choices - 1)]
            rng.shuffle(choices)
            questions.append(AnalogyQuestion(stem, tuple(choices), choices.index(answer_pair), record.relation_type))
    return questions
