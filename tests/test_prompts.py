import pytest

from relvec.prompts import DEFAULT_TEMPLATE, TEMPLATES, fill, resolve_template, template_name


def test_five_paper_templates_exact():
    assert set(TEMPLATES) == {"a", "b", "c", "d", "e"}
    assert DEFAULT_TEMPLATE == "d"
    assert TEMPLATES["a"] == (
        "Today, I finally discovered the relation between <subj> and <obj> : <subj> is the <mask> of <obj>"
    )
    assert TEMPLATES["b"].endswith(": <obj>  is <subj>'s <mask>")  # double space, ASCII apostrophe
    assert TEMPLATES["c"].endswith(": <mask>")
    assert TEMPLATES["d"] == (
        "I wasn\u2019t aware of this relationship, but I just read in the encyclopedia that "
        "<subj> is the <mask> of <obj>"
    )
    assert TEMPLATES["e"].endswith("that <obj>  is <subj>\u2019s <mask>")


def test_resolve_by_name_and_custom():
    assert resolve_template("a") == TEMPLATES["a"]
    custom = "<subj> relates to <obj> as <mask>"
    assert resolve_template(custom) == custom
    assert template_name(TEMPLATES["e"]) == "e"
    assert template_name(custom) is None


@pytest.mark.parametrize("bad", ["<subj> and <mask>", "nothing here", "<obj> only"])
def test_template_without_placeholders_rejected(bad):
    with pytest.raises(ValueError, match="missing"):
        resolve_template(bad)


def test_template_must_be_string():
    with pytest.raises(ValueError, match="string"):
        resolve_template(3)  # type: ignore[arg-type]


def test_fill_uses_tokenizer_mask_and_never_substitutes_twice():
    out = fill(TEMPLATES["d"], "camera", "photographer", "[MASK]")
    assert out.endswith("that camera is the [MASK] of photographer")
    # A word that looks like a placeholder stays literal.
    assert fill("<subj> x <obj> <mask>", "<obj>", "<mask>", "<M>") == "<obj> x <mask> <M>"
