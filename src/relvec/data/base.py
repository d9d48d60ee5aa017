"""What every benchmark reader shares: the data directory, JSONL reading with file:line errors, pairs."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from relvec.encoders.base import Pair
from relvec.files import FileFormatError, iter_lines, short_repr
from relvec.text import word_problem

DATA_ENV = "RELVEC_DATA"
SPLITS = ("train", "valid", "test")
HUB_SPLIT = {"valid": "validation"}
T = TypeVar("T")
# A data file that does not follow its schema; the message names file, line and reason.
DataFormatError = FileFormatError

__all__ = [
    "DATA_ENV",
    "SPLITS",
    "DataFormatError",
    "Pair",
    "data_dir",
    "iter_json_values",
    "iter_jsonl",
    "read_pair",
    "seeded_subset",
]


def seeded_subset(items: Sequence[T], size: int | None, seed: int = 0) -> list[T]:
    """``size`` items chosen with a fixed seed, in their original order (all of them if ``size`` is None)."""
    if size is None or len(items) <= size:
        return list(items)
    return [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), size))]


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


def read_pair(value: Any, where: str, what: str) -> Pair:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DataFormatError(f"{where}: {what} must be a pair of two non-empty strings, got {short_repr(value)}")
    for word in value:
        problem = word_problem(word)
        if problem:
            raise DataFormatError(f"{where}: {what} {short_repr(value)}: word {short_repr(word)} {problem}")
    return value[0], value[1]
