"""Prompt templates that turn a word pair into a sentence with a mask slot (RelBERT, Sec. 3.1)."""

from __future__ import annotations

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
    parts = {SUBJ: subj, OBJ: obj, MASK: mask_token}
    out: list[str] = []
    i = 0
    while i < len(template):
        for tag, value in parts.items():
            if template.startswith(tag, i):
                out.append(value)
                i += len(tag)
                break
        else:
            out.append(template[i])
            i += 1
    return "".join(out)
