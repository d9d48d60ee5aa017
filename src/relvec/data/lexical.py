"""Lexical relation classification sets (BLESS, CogALexV, EVALution, K&H+N, ROOT09)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from relvec.data.base import SPLITS, DataFormatError, data_dir, iter_jsonl
from relvec.text import word_problem

LEXICAL_DATASETS = ("BLESS", "CogALexV", "EVALution", "K&H+N", "ROOT09")


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
