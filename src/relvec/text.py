"""What counts as a word relvec can embed; shared by the encoders and the data readers."""

from __future__ import annotations

import unicodedata
from typing import Any

# Unicode categories of characters that carry content: letters, numbers, punctuation, symbols.
_CONTENT_CATEGORIES = frozenset("LNPS")


def word_problem(word: Any) -> str | None:
    """Why ``word`` cannot be embedded, or None when it can.

    Rejected: non-strings, blank words, lone surrogates (text that was not valid UTF-8, as Python
    decodes a bad command-line argument) and words made only of control, format or combining
    characters ("\\x00", zero-width space, BOM, a lone accent), which tokenize to nothing.
    """
    if not isinstance(word, str):
        return f"is a {type(word).__name__}, not a string"
    if not word.strip():
        return "is empty"
    try:
        word.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"holds a lone surrogate U+{ord(word[exc.start]):04X} at position {exc.start} "
            "(not valid Unicode text; was the input UTF-8?)"
        )
    if not any(unicodedata.category(c)[0] in _CONTENT_CATEGORIES for c in word):
        return "has no letter, digit, punctuation or symbol (only blank, control, format or combining characters)"
    return None
