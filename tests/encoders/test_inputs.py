"""Bad inputs to ``encode`` and to model loading get a clear ValueError naming the item, never a crash."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relvec import RelationEncoder
from relvec.encoders.base import validate_pairs

NO_TOKENS = ["\x00", "\u200b", "\u0301", "\ufeff", "\x00\u200b"]


@pytest.mark.parametrize(
    ("pairs", "match"),
    [
        ([("a", "b"), ("a\ud800", "b")], r"pair 1 .*lone surrogate U\+D800"),
        ([("x\udcff", "y")], r"pair 0 .*was the input UTF-8"),
        (np.array("ab"), "0-d array"),
        (np.array([["a", "b"], ["c", "d"]])[0, 0], "pairs must be"),
        ([("a", "b"), (b"a", "b")], r"pair 1 .*is a bytes, not a string"),
    ],
)
def test_bad_pairs_are_rejected_by_name(tiny_encoder, pairs, match):
    with pytest.raises(ValueError, match=match):
        tiny_encoder.encode(pairs)


@pytest.mark.parametrize("word", NO_TOKENS)
def test_words_without_content_are_rejected(tiny_encoder, word):
    with pytest.raises(ValueError, match=r"pair 1 .*word .* has no letter"):
        tiny_encoder.encode([("cat", "kitten"), ("dog", word)])


def test_words_the_tokenizer_drops_are_rejected(tiny_encoder):
    # U+FFFD is a symbol, but BERT's normaliser deletes it: the word would vanish from the prompt
    with pytest.raises(ValueError, match=r"pair 1 .*word '\ufffd' has no tokens for this tokenizer"):
        tiny_encoder.encode([("a", "b"), ("\ufffd", "b")])


def test_long_inputs_are_cut_in_messages(tiny_encoder):
    huge = "x" * 300_000
    with pytest.raises(ValueError) as info:
        tiny_encoder.encode([("a", "b"), (huge, 3)])
    assert len(str(info.value)) < 300 and "chars]" in str(info.value)
    with pytest.raises(ValueError) as info:
        validate_pairs({huge: huge})
    assert len(str(info.value)) < 300


def test_max_length_beyond_the_position_table_is_refused_at_load(tiny_dir):
    with pytest.raises(ValueError, match=r"max_length=129 exceeds the backbone's 128 positions"):
        RelationEncoder.from_pretrained(tiny_dir, max_length=129)
    assert RelationEncoder.from_pretrained(tiny_dir, max_length=128).max_length == 128


def test_training_refuses_max_length_before_writing_anything(tmp_path, tiny_dir, relation_data):
    from relvec.recipes import train
    from relvec.training import TrainingArguments

    out = tmp_path / "run"
    with pytest.raises(ValueError, match="max_length"):
        TrainingArguments(backbone=str(tiny_dir), data=str(relation_data), output_dir=str(out), max_length=100000)
    args = TrainingArguments(backbone=str(tiny_dir), data=str(relation_data), output_dir=str(out), max_length=200)
    with pytest.raises(ValueError, match="128 positions"):
        train(args, show_progress_bar=False)
    assert not out.exists()


def test_autoprompt_trigger_ids_outside_the_vocabulary_are_refused(tmp_path, tiny_encoder):
    from relvec.prompts import PromptShape

    shape = PromptShape.parse("1,1,1")
    tiny_encoder.config.prompt = {"method": "autoprompt", "shape": shape.as_list(), "trigger_ids": [5, 5, 5]}
    tiny_encoder.set_trigger_ids([5, 5, 5])
    folder = tiny_encoder.save_pretrained(tmp_path / "ap")
    config = json.loads((folder / "relvec_config.json").read_text())
    config["prompt"]["trigger_ids"] = [5, 10**6, -1]
    (folder / "relvec_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"trigger_ids \[1000000, -1\] are outside the vocabulary"):
        RelationEncoder.from_pretrained(folder)


words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["", " ", *NO_TOKENS, "a\ud800", "[MASK]", "<subj>", "x" * 200]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(words, words), min_size=1, max_size=4))
def test_fuzzed_pairs_give_vectors_or_a_named_error(tiny_encoder, pairs):
    try:
        out = tiny_encoder.encode(pairs, precision="fp32")
    except ValueError as exc:
        message = str(exc)
        assert message.startswith("pair ") and len(message) < 400
        return
    assert out.shape == (len(pairs), tiny_encoder.embedding_dim) and np.isfinite(out).all()
