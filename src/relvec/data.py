"""Loading benchmark data from local JSONL (a data directory or any file) or, with network, the hub."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA_ENV = "RELVEC_DATA"
ANALOGY_DATASETS = (
    "sat_full",
    "sat",
    "u2",
    "u4",
    "google",
    "bats",
    "conceptnet_relational_similarity",
    "t_rex_relational_similarity",
    "nell_relational_similarity",
)
ANALOGY_HUB_ID = "relbert/analogy_questions"
SEMEVAL_HUB_ID = "relbert/semeval2012_relational_similarity"
SPLITS = ("train", "valid", "test")
_HUB_SPLIT = {"valid": "validation"}

Pair = tuple[str, str]


class DataFormatError(ValueError):
    """A data file that does not follow its schema; the message names file, line and reason."""


@dataclass(frozen=True)
class AnalogyQuestion:
    """A multiple-choice analogy: which choice relates like ``stem``? ``answer`` indexes ``choices``."""

    stem: Pair
    choices: tuple[Pair, ...]
    answer: int
    prefix: str = ""


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


# ---------------------------------------------------------------------------- paths
def data_dir(path: str | Path | None = None) -> Path:
    """The data directory: the explicit argument, else ``$RELVEC_DATA``; it must exist."""
    chosen = path if path is not None else os.environ.get(DATA_ENV)
    if not chosen:
        raise ValueError(f"no data directory given: pass --data-dir / data_dir=... or set ${DATA_ENV}")
    resolved = Path(chosen).expanduser()
    if not resolved.is_dir():
        raise ValueError(f"data directory {resolved} does not exist")
    return resolved


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; bad JSON names file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"{path}:{number}: invalid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise DataFormatError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
            yield number, obj


def _pair(value: Any, where: str, what: str) -> Pair:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(w, str) and w.strip() for w in value)
    ):
        raise DataFormatError(f"{where}: {what} must be a pair of two non-empty strings, got {value!r}")
    return value[0], value[1]


# ---------------------------------------------------------------------------- analogy questions
def analogy_path(name_or_path: str | Path, split: str = "test", data_dir_: str | Path | None = None) -> Path:
    """Resolve a dataset name under ``<data>/analogy/<name>/<split>.jsonl`` or accept a JSONL path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".jsonl" or candidate.is_file():
        return candidate
    name = str(name_or_path)
    if name not in ANALOGY_DATASETS:
        raise ValueError(f"unknown analogy dataset {name!r}; known: {', '.join(ANALOGY_DATASETS)} or a .jsonl path")
    if split not in ("valid", "test"):
        raise ValueError(f"analogy split must be 'valid' or 'test', got {split!r}")
    path = data_dir(data_dir_) / "analogy" / name / f"{split}.jsonl"
    if not path.is_file():
        raise ValueError(f"{name} has no {split!r} split ({path} not found)")
    return path


def load_analogy(
    name_or_path: str | Path, split: str = "test", data_dir: str | Path | None = None
) -> list[AnalogyQuestion]:
    """Load analogy questions (schema: stem, choice, answer, prefix) from a name or a JSONL path."""
    path = analogy_path(name_or_path, split, data_dir)
    questions = [_analogy_question(obj, f"{path}:{n}") for n, obj in iter_jsonl(path)]
    if not questions:
        raise DataFormatError(f"{path}: no questions")
    return questions


def _analogy_question(obj: dict[str, Any], where: str) -> AnalogyQuestion:
    for key in ("stem", "choice", "answer"):
        if key not in obj:
            raise DataFormatError(f"{where}: missing field {key!r}")
    stem = _pair(obj["stem"], where, "stem")
    raw_choices = obj["choice"]
    if not isinstance(raw_choices, list) or len(raw_choices) < 2:
        raise DataFormatError(f"{where}: 'choice' must be a list of at least two pairs")
    choices = tuple(_pair(c, where, f"choice {i}") for i, c in enumerate(raw_choices))
    answer = obj["answer"]
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise DataFormatError(f"{where}: 'answer' must be an index into {len(choices)} choices, got {answer!r}")
    return AnalogyQuestion(stem, choices, answer, str(obj.get("prefix", "")))


def load_analogy_from_hub(name: str, split: str = "test") -> list[AnalogyQuestion]:  # pragma: no cover
    """Load from the ``relbert/analogy_questions`` hub dataset (needs network and ``datasets``)."""
    from datasets import load_dataset

    rows = load_dataset(ANALOGY_HUB_ID, name, split=_HUB_SPLIT.get(split, split))
    return [_analogy_question(dict(r), f"{ANALOGY_HUB_ID}/{name}[{i}]") for i, r in enumerate(rows)]


# ---------------------------------------------------------------------------- relation similarity
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
        lists[key] = [_pair(p, where, f"{key}[{i}]") for i, p in enumerate(obj[key])]
    return RelationRecord(obj["relation_type"], lists["positives"], lists["negatives"])


def load_relation_similarity_from_hub(split: str = "train") -> list[RelationRecord]:  # pragma: no cover
    """Load ``relbert/semeval2012_relational_similarity`` (needs network and ``datasets``)."""
    from datasets import load_dataset

    rows = load_dataset(SEMEVAL_HUB_ID, split=_HUB_SPLIT.get(split, split))
    return [_relation_record(dict(r), f"{SEMEVAL_HUB_ID}[{i}]") for i, r in enumerate(rows)]


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


def augment_negatives(records: Sequence[RelationRecord]) -> list[RelationRecord]:
    """Add every other relation's positives to each relation's negatives (no duplicates, never own positives)."""
    out = []
    for r in records:
        own = set(r.positives)
        extra = [p for other in records if other is not r for p in other.positives]
        negatives = list(dict.fromkeys(n for n in [*r.negatives, *extra] if n not in own))
        out.append(RelationRecord(r.relation_type, r.positives, negatives))
    return out
