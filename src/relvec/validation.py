"""Self-documenting argument dataclasses: fields with help and choices, and checks whose errors name the flag."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from relvec.files import short_repr

# A bound per numeric field: (kind, low, high), inclusive; "int" fields refuse floats and bools.
Bounds = tuple[str, float, float]
_MAX_SEED = 2**32 - 1

# Fields both the trainer and the prompt search take.
_COMMON_RANGES: dict[str, Bounds] = {
    "num_positive": ("int", 2, 100_000),
    "num_negative": ("int", 1, 1_000_000),
    "epochs": ("int", 1, 10_000),
    "chunk_size": ("int", 1, 65_536),
    "seed": ("int", 0, _MAX_SEED),
    # a temperature below 1e-3 overflows exp(cos / τ) even in float32; above 100 every pair looks alike
    "temperature": ("float", 1e-3, 100.0),
    "learning_rate": ("float", 1e-12, 1.0),
}
TRAINING_RANGES: dict[str, Bounds] = {
    **_COMMON_RANGES,
    "max_length": ("int", 8, 4096),
    "warmup_steps": ("int", 0, 10_000_000),
    "validation_questions_per_relation": ("int", 0, 100_000),
    "weight_decay": ("float", 0.0, 1.0),
    "margin": ("float", 0.0, 100.0),
    "relations_per_step": ("int", 1, 100_000),
    "reversed_negatives": ("int", 0, 100_000),
    "average_epochs": ("int", 0, 100_000),
}
PROMPT_SEARCH_RANGES: dict[str, Bounds] = {
    **_COMMON_RANGES,
    "iterations": ("int", 1, 1_000_000),
    "relations_per_batch": ("int", 1, 100_000),
    "top_k": ("int", 1, 1_000_000),
}


def split_list(text: str) -> list[str]:
    """``"sat, u2,,u4"`` -> ``["sat", "u2", "u4"]``: a comma list's non-empty items, stripped."""
    return [x.strip() for x in text.split(",") if x.strip()]


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_range(name: str, value: Any, bounds: Bounds) -> None:
    """Raise ValueError unless ``value`` is a finite number of the right kind within ``bounds``."""
    kind, low, high = bounds
    is_int = isinstance(value, int) and not isinstance(value, bool)
    is_number = is_int or (isinstance(value, float) and kind == "float")
    what = "an integer" if kind == "int" else "a number"
    if not is_number or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} ({flag(name)}) must be {what} in [{low:g}, {high:g}], got {value!r}")


def check_ranges(obj: Any, ranges: dict[str, Bounds]) -> None:
    for name, bounds in ranges.items():
        check_range(name, getattr(obj, name), bounds)


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    choices: Sequence[str] | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field that documents itself: the CLI builds its flag (help, choices) from this metadata."""
    metadata = {"help": help, **({"choices": tuple(choices)} if choices is not None else {})}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_fields(obj: Any, ranges: dict[str, Bounds]) -> None:
    """Validate a dataclass: choices from field metadata, booleans, and numeric ``ranges``; errors name the flag."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        choices = f.metadata.get("choices")
        if choices is not None and value is not None and value not in choices:
            raise ValueError(f"{f.name} ({flag(f.name)}) must be one of {', '.join(choices)}, got {short_repr(value)}")
        if f.type in ("bool", bool) and not isinstance(value, bool):
            raise ValueError(f"{f.name} ({flag(f.name)}) must be true or false, got {short_repr(value)}")
    check_ranges(obj, ranges)
