"""Analogy questions (SAT, U2, U4, Google, BATS, ConceptNet, T-REx, NELL): names, paths, loading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relvec.data.base import HUB_SPLIT, DataFormatError, Pair, data_dir, iter_jsonl, read_pair
from relvec.files import short_repr

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
# The analogy sets with a valid split that choose epochs and hybrid weights (the SemEval valid split is left
# out there: its relations are the training relations).
ANALOGY_VALID_SETS = ("sat", "u2", "u4", "google", "bats")
# The analogy questions built from the SemEval-2012 valid split, as a set name of the evaluation suite.
SEMEVAL_VALID_DATASET = "semeval2012_valid"
ANALOGY_HUB_ID = "relbert/analogy_questions"
# Sets whose shuffled 2023 test file (``test_2023.jsonl``) is the one to report: the older
# ``test.jsonl`` keeps the right answer at index 0.
ANALOGY_TEST_2023 = ("conceptnet_relational_similarity", "t_rex_relational_similarity")


@dataclass(frozen=True)
class AnalogyQuestion:
    """A multiple-choice analogy: which choice relates like ``stem``? ``answer`` indexes ``choices``."""

    stem: Pair
    choices: tuple[Pair, ...]
    answer: int
    prefix: str = ""


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
    stem = read_pair(obj["stem"], where, "stem")
    raw_choices = obj["choice"]
    if not isinstance(raw_choices, list) or len(raw_choices) < 2:
        raise DataFormatError(f"{where}: 'choice' must be a list of at least two pairs")
    choices = tuple(read_pair(c, where, f"choice {i}") for i, c in enumerate(raw_choices))
    answer = obj["answer"]
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        size = len(choices)
        raise DataFormatError(f"{where}: 'answer' must be an index into {size} choices, got {short_repr(answer)}")
    return AnalogyQuestion(stem, choices, answer, str(obj.get("prefix", "")))


def load_analogy_from_hub(name: str, split: str = "test") -> list[AnalogyQuestion]:  # pragma: no cover
    """Load from the ``relbert/analogy_questions`` hub dataset (needs network and ``datasets``)."""
    from datasets import load_dataset

    rows = load_dataset(ANALOGY_HUB_ID, name, split=HUB_SPLIT.get(split, split))
    return [_analogy_question(dict(r), f"{ANALOGY_HUB_ID}/{name}[{i}]") for i, r in enumerate(rows)]
