"""Range checks for the numeric fields of argument dataclasses; errors name the field and its flag."""

from __future__ import annotations

import math
from typing import Any

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
}
PROMPT_SEARCH_RANGES: dict[str, Bounds] = {
    **_COMMON_RANGES,
    "iterations": ("int", 1, 1_000_000),
    "relations_per_batch": ("int", 1, 100_000),
    "top_k": ("int", 1, 1_000_000),
}


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
