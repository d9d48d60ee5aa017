"""Prompt templates that turn a word pair into a sentence with a mask slot (RelBERT, Sec. 3.1)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

SUBJ = "<subj>"
OBJ = "<obj>"
MASK = "<mask>"

# The five manual templates of the paper, character for character as in the original runs
# (curly apostrophe U+2019 in d and e, double space after <obj> in b and e).
TEMPLATES: dict[str, str] = {
    "a": "Today, I finally discovered the relation between <subj> and <obj> : <subj> is the <mask> of <obj>",
    "b": "Today, I finally discovered the relation between <subj> and <obj> : <obj>  is <subj>'s <mask>",
    "c": "Today, I finally discovered the relation between <subj> and <obj> : <mask>",
    "d": "I wasn\u2019t aware of this relationship, but I just read in the encyclopedia that "
    "<subj> is the <mask> of <obj>",
    "e": "I wasn\u2019t aware of this relationship, but I just read in the encyclopedia that "
    "<obj>  is <subj>\u2019s <mask>",
}
DEFAULT_TEMPLATE = "d"


def resolve_template(template: str) -> str:
    """Return the template string for a name (``"a"`` … ``"e"``) or validate a custom template."""
    if not isinstance(template, str):
        raise ValueError(f"template must be a string, got {type(template).__name__}: {template!r}")
    text = TEMPLATES.get(template, template)
    missing = [tag for tag in (SUBJ, OBJ) if tag not in text]
    if missing:
        raise ValueError(
            f"template {template!r} is neither a known name ({', '.join(TEMPLATES)}) nor a custom template "
            f"containing {SUBJ} and {OBJ}: missing {', '.join(missing)}"
        )
    return text


def template_name(template: str) -> str | None:
    """The short name of a built-in template string, or ``None`` for a custom one."""
    for name, text in TEMPLATES.items():
        if text == template:
            return name
    return None


def fill(template: str, subj: str, obj: str, mask_token: str) -> str:
    """Fill a (resolved) template with a pair; ``<mask>`` becomes the tokenizer's own mask token.

    Placeholders are substituted in one pass so that a word which itself looks like a
    placeholder (e.g. the literal string ``"<obj>"``) is never substituted twice.
    """
    parts = _template_parts(template)
    values = {SUBJ: subj, OBJ: obj, MASK: mask_token}
    # Odd indices are the placeholders (re.split keeps the captured separators there).
    return "".join(values[part] if i % 2 else part for i, part in enumerate(parts))


@lru_cache(maxsize=64)
def _template_parts(template: str) -> tuple[str, ...]:
    """The template split around its placeholders, leftmost match first (as a left-to-right scan finds them)."""
    pattern = "(" + "|".join(re.escape(tag) for tag in (SUBJ, OBJ, MASK)) + ")"
    return tuple(re.split(pattern, template))


# ---------------------------------------------------------------------------- learned prompts
TRIGGER = "[T]"
MAX_TRIGGERS = 64


@dataclass(frozen=True)
class PromptShape:
    """Where the trigger slots of a learned prompt go: ``[T]×before <subj> [T]×between <obj> [T]×after <mask>``."""

    before: int = 3
    between: int = 3
    after: int = 3

    def __post_init__(self) -> None:
        for name in ("before", "between", "after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"prompt shape: {name} must be a non-negative integer, got {value!r}")
        if not 1 <= self.num_triggers <= MAX_TRIGGERS:
            raise ValueError(f"prompt shape needs between 1 and {MAX_TRIGGERS} trigger slots, got {self.num_triggers}")

    @property
    def num_triggers(self) -> int:
        return self.before + self.between + self.after

    @classmethod
    def parse(cls, value: str | Sequence[int] | PromptShape) -> PromptShape:
        """From ``"3,3,3"``, ``[3, 3, 3]`` or a shape."""
        if isinstance(value, PromptShape):
            return value
        parts: Sequence[Any] = value.split(",") if isinstance(value, str) else value
        if len(parts) != 3:
            raise ValueError(f"prompt shape must be three counts 'before,between,after', got {value!r}")
        try:
            counts = [int(p) for p in parts]
        except (TypeError, ValueError):
            raise ValueError(f"prompt shape must be three integers 'before,between,after', got {value!r}") from None
        return cls(*counts)

    def as_list(self) -> list[int]:
        return [self.before, self.between, self.after]

    def template(self, triggers: Sequence[str] | None = None) -> str:
        """The template string, with ``[T]`` slots or with the given trigger words filled in."""
        words = list(triggers) if triggers is not None else [TRIGGER] * self.num_triggers
        if len(words) != self.num_triggers:
            raise ValueError(f"expected {self.num_triggers} trigger words, got {len(words)}")
        b, i = self.before, self.before + self.between
        parts = [*words[:b], SUBJ, *words[b:i], OBJ, *words[i:], MASK]
        return " ".join(parts)

    def segments(self) -> list[str | int]:
        """The prompt as a sequence of items: trigger slot numbers (int), ``<subj>``, ``<obj>`` and ``<mask>``."""
        slots = iter(range(self.num_triggers))
        return [
            *(next(slots) for _ in range(self.before)),
            SUBJ,
            *(next(slots) for _ in range(self.between)),
            OBJ,
            *(next(slots) for _ in range(self.after)),
            MASK,
        ]
