"""Turney's relation-mapping problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relvec.data.base import DataFormatError, data_dir, iter_jsonl


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
