"""Loading benchmark data from local JSONL (a data directory or any file) or, with network, the hub."""

from __future__ import annotations

import json
import os
import random
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from relvec.files import FileFormatError, iter_lines, short_repr
from relvec.text import word_problem

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
# Sets whose shuffled 2023 test file (``test_2023.jsonl``) is the one to report: the older
# ``test.jsonl`` keeps the right answer at index 0.
ANALOGY_TEST_2023 = ("conceptnet_relational_similarity", "t_rex_relational_similarity")
LEXICAL_DATASETS = ("BLESS", "CogALexV", "EVALution", "K&H+N", "ROOT09")
SPLITS = ("train", "valid", "test")
_HUB_SPLIT = {"valid": "validation"}

Pair = tuple[str, str]
T = TypeVar("T")


# A data file that does not follow its schema; the message names file, line and reason.
DataFormatError = FileFormatError


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


def seeded_subset(items: Sequence[T], size: int | None, seed: int = 0) -> list[T]:
    """``size`` items chosen with a fixed seed, in their original order (all of them if ``size`` is None)."""
    if size is None or len(items) <= size:
        return list(items)
    return [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), size))]


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
    for number, obj in iter_json_values(path):
        if not isinstance(obj, dict):
            raise DataFormatError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
        yield number, obj


def iter_json_values(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for each non-blank line of a UTF-8 JSONL file; errors name file and line."""
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        yield number, value


def _pair(value: Any, where: str, what: str) -> Pair:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DataFormatError(f"{where}: {what} must be a pair of two non-empty strings, got {short_repr(value)}")
    for word in value:
        problem = word_problem(word)
        if problem:
            raise DataFormatError(f"{where}: {what} {short_repr(value)}: word {short_repr(word)} {problem}")
    return value[0], value[1]


# ---------------------------------------------------------------------------- analogy questions
def analogy_path(name_or_path: str | Path, split: str = "test", data_dir_: str | Path | None = None) -> Path:
    """Resolve a dataset name under ``<data>/analogy/<name>/<split>.jsonl`` or accept a JSONL path.

    For ConceptNet and T-REx, ``test`` means ``test_2023.jsonl`` (answers shuffled).
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".jsonl" or candidate.is_file():
        return candidate
    name = str(name_or_path)
    if name not in ANALOGY_DATASETS:
        raise ValueError(f"unknown analogy dataset {name!r}; known: {', '.join(ANALOGY_DATASETS)} or a .jsonl path")
    if split not in ("valid", "test"):
        raise ValueError(f"analogy split must be 'valid' or 'test', got {split!r}")
    stem = "test_2023" if split == "test" and name in ANALOGY_TEST_2023 else split
    path = data_dir(data_dir_) / "analogy" / name / f"{stem}.jsonl"
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
        size = len(choices)
        raise DataFormatError(f"{where}: 'answer' must be an index into {size} choices, got {short_repr(answer)}")
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


# ---------------------------------------------------------------------------- lexical relations
@dataclass(frozen=True)
class LexicalExample:
    """A labelled word pair of a lexical-relation classification set."""

    head: str
    tail: str
    relation: str


def lexical_relation_path(name_or_path: str | Path, split: str, data_dir_: str | Path | None = None) -> Path | None:
    """``<data>/lexical_relation/<name>/<split>.jsonl`` (or ``<folder>/<split>.jsonl``); None if the split is absent."""
    if split not in SPLITS:
        raise ValueError(f"lexical-relation split must be one of {SPLITS}, got {split!r}")
    candidate = Path(name_or_path)
    if not candidate.is_dir():
        if str(name_or_path) not in LEXICAL_DATASETS:
            known = ", ".join(LEXICAL_DATASETS)
            raise ValueError(f"unknown lexical-relation dataset {name_or_path!r}; known: {known} or a folder")
        candidate = data_dir(data_dir_) / "lexical_relation" / str(name_or_path)
    path = candidate / f"{split}.jsonl"
    return path if path.is_file() else None


def load_lexical_relation(
    name_or_path: str | Path, split: str = "test", data_dir: str | Path | None = None
) -> list[LexicalExample]:
    """Load one split of a lexical-relation set (schema: head, tail, relation)."""
    path = lexical_relation_path(name_or_path, split, data_dir)
    if path is None:
        raise ValueError(f"{name_or_path} has no {split!r} split")
    return load_lexical_file(path)


def load_lexical_file(path: str | Path) -> list[LexicalExample]:
    """Labelled pairs from one JSONL file (schema: head, tail, relation)."""
    path = Path(path)
    examples = []
    for number, obj in iter_jsonl(path):
        where = f"{path}:{number}"
        for key in ("head", "tail", "relation"):
            problem = word_problem(obj.get(key)) if key in obj else "is missing"
            if problem:
                raise DataFormatError(f"{where}: field {key!r} {problem}")
        examples.append(LexicalExample(obj["head"], obj["tail"], obj["relation"]))
    if not examples:
        raise DataFormatError(f"{path}: no examples")
    return examples


# ---------------------------------------------------------------------------- relation mapping
@dataclass(frozen=True)
class MappingProblem:
    """Turney's relation-mapping problem: map each ``source`` term to its counterpart in ``candidates``.

    ``answer[i]`` is the index in ``candidates`` of the target of ``source[i]``. ``agreement`` and
    ``pos`` are per-term annotations; a list whose length does not match the terms (two source
    quirks: a6 has 8 agreement values for 7 terms, m5 8 POS tags for 6) is dropped and noted in ``notes``.
    """

    id: str
    source: tuple[str, ...]
    candidates: tuple[str, ...]
    answer: tuple[int, ...]
    agreement: tuple[float, ...] | None = None
    pos: tuple[str, ...] | None = None
    notes: tuple[str, ...] = ()


def relation_mapping_path(path: str | Path | None = None, data_dir_: str | Path | None = None) -> Path:
    """An explicit JSONL path, else ``<data>/relation_mapping/test.jsonl``."""
    return Path(path) if path is not None else data_dir(data_dir_) / "relation_mapping" / "test.jsonl"


def load_relation_mapping(path: str | Path | None = None, data_dir: str | Path | None = None) -> list[MappingProblem]:
    """Load the relation-mapping problems (default ``<data>/relation_mapping/test.jsonl``)."""
    path = relation_mapping_path(path, data_dir)
    problems = [_mapping_problem(obj, f"{path}:{n}") for n, obj in iter_jsonl(path)]
    if not problems:
        raise DataFormatError(f"{path}: no problems")
    return problems


def _mapping_problem(obj: dict[str, Any], where: str) -> MappingProblem:
    terms = {}
    for key in ("source", "target", "target_random"):
        value = obj.get(key)
        if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
            raise DataFormatError(f"{where}: {key!r} must be a list of non-empty strings")
        terms[key] = value
    source, target, shuffled = terms["source"], terms["target"], terms["target_random"]
    if not len(source) == len(target) == len(shuffled) or len(source) < 2:
        raise DataFormatError(f"{where}: source, target and target_random must have the same length (>= 2)")
    if sorted(target) != sorted(shuffled) or len(set(target)) != len(target):
        raise DataFormatError(f"{where}: target_random must be a permutation of distinct target terms")
    notes = []
    annotations: dict[str, tuple[Any, ...] | None] = {}
    for key in ("agreement", "pos"):
        value = obj.get(key)
        if value is None:
            annotations[key] = None
        elif not isinstance(value, list) or len(value) != len(source):
            size = len(value) if isinstance(value, list) else type(value).__name__
            notes.append(f"{key} has {size} entries for {len(source)} terms; ignored")
            annotations[key] = None
        else:
            annotations[key] = tuple(value)
    answer = tuple(shuffled.index(t) for t in target)
    return MappingProblem(
        id=str(obj.get("id", where)),
        source=tuple(source),
        candidates=tuple(shuffled),
        answer=answer,
        agreement=annotations["agreement"],
        pos=annotations["pos"],
        notes=tuple(notes),
    )
