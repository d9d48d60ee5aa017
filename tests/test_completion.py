"""Analogy completion: arithmetic candidates, re-ranking, the vocabulary cache and the CLI."""

import json

import numpy as np
import pytest

from relvec.cli import main
from relvec.completion import (
    AnalogyCompleter,
    VocabularyVectors,
    complete,
    offset_scores,
    read_vocabulary,
)
from relvec.encoders.offset import OffsetEncoder, WordVectors
from relvec.files import FileFormatError

# Axes: 0 royal, 1 female, 2-5 other words' own directions. king - man + woman = queen exactly.
WORDS = ["man", "woman", "king", "queen", "prince", "apple", "pear", "girl"]
MATRIX = np.array(
    [
        [0, 0, 1, 0, 0, 0],  # man
        [0, 1, 1, 0, 0, 0],  # woman
        [1, 0, 1, 0, 0, 0],  # king
        [1, 1, 1, 0, 0, 0],  # queen
        [1, 0, 1, 0.3, 0, 0],  # prince
        [0, 0, 0, 0, 1, 0],  # apple
        [0, 0, 0, 0, 0.9, 0.4],  # pear
        [0, 1, 1, 0, 0, 0.5],  # girl
    ],
    dtype=np.float32,
)


@pytest.fixture()
def vectors() -> WordVectors:
    return WordVectors(WORDS, MATRIX, name="toy")


class PreferModel:
    """A relation model for the query man:king: the anchor is (1, 0), a candidate (c, d) has cosine
    ``prefer[d]`` with it (0 when d is not preferred)."""

    def __init__(self, prefer: dict[str, float]) -> None:
        self.prefer = prefer
        self.calls = 0

    def encode(self, pairs, batch_size=64, normalize=False, **kwargs):
        self.calls += 1
        out = []
        for _, tail in pairs:
            p = 1.0 if tail == "king" else self.prefer.get(tail, 0.0)
            out.append([p, np.sqrt(1 - p * p)])
        return np.asarray(out, dtype=np.float32)


def test_3cosadd_finds_the_constructed_answer_and_excludes_query_words(vectors):
    completer = AnalogyCompleter(OffsetEncoder(vectors), WORDS, vectors, candidates=0)
    found = completer.complete(("man", "king"), "woman", k=3)
    assert found[0].word == "queen"
    assert not {"man", "king", "woman"} & {x.word for x in found}
    assert found[0].score == pytest.approx(found[0].offset_score)


def test_3cosmul_matches_its_formula(vectors):
    space = VocabularyVectors.build(vectors, WORDS)
    unit = {w: space.matrix[space.index[w]] for w in WORDS}
    scores = offset_scores(space, unit["man"], unit["king"], unit["woman"], method="mul")
    shift = lambda x, y: (float(x @ y) + 1) / 2  # noqa: E731
    expected = shift(unit["queen"], unit["king"]) * shift(unit["queen"], unit["woman"])
    expected /= shift(unit["queen"], unit["man"]) + 1e-3
    assert scores[space.index["queen"]] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="method"):
        offset_scores(space, unit["man"], unit["king"], unit["woman"], method="sub")


def test_reranking_orders_candidates_by_the_relation_model(vectors):
    model = PreferModel({"girl": 0.99, "queen": 0.5})
    completer = AnalogyCompleter(model, WORDS, vectors, candidates=5)
    found = completer.complete(("man", "king"), "woman", k=2)
    assert [x.word for x in found] == ["girl", "queen"]  # girl is a candidate, then the model prefers it
    anchor = np.array([1.0, 0.0])
    assert found[0].score == pytest.approx(float(np.array([0.99, np.sqrt(1 - 0.99**2)]) @ anchor), abs=1e-6)
    many = completer.complete_many([(("man", "king"), "woman"), (("apple", "pear"), "man")], k=2)
    assert model.calls == 2 and len(many) == 2  # the second call embedded both queries' candidates at once


def test_complete_function_and_errors(vectors):
    model = OffsetEncoder(vectors)
    assert complete(model, ("man", "king"), "woman", k=1, vocabulary=WORDS)[0].word == "queen"
    completer = AnalogyCompleter(model, WORDS, candidates=3)
    with pytest.raises(ValueError, match=r"query 0 .*'dragon'"):
        completer.complete(("man", "dragon"), "woman")
    with pytest.raises(ValueError, match="k must be positive"):
        completer.complete(("man", "king"), "woman", k=0)
    with pytest.raises(ValueError, match="none of the 2 vocabulary words"):
        AnalogyCompleter(model, ["xx", "yy"])


def test_vocabulary_cache_is_reused_and_damage_is_rebuilt(vectors, tmp_path, monkeypatch):
    first = VocabularyVectors.build(vectors, WORDS, tmp_path)
    files = sorted(p.suffix for p in tmp_path.iterdir())
    assert files == [".json", ".npy"]
    monkeypatch.setattr(vectors, "lookup", lambda w: pytest.fail("the cache should have answered"))
    again = VocabularyVectors.build(vectors, WORDS, tmp_path)
    assert again.words == first.words and np.array_equal(again.matrix, first.matrix)
    monkeypatch.undo()
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(b"\x80\x04not a matrix")  # a pickle-looking file is never unpickled: rebuilt instead
    rebuilt = VocabularyVectors.build(vectors, WORDS, tmp_path)
    assert np.array_equal(rebuilt.matrix, first.matrix)


def test_read_vocabulary(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("queen\n\nking\nqueen\n")
    assert read_vocabulary(path) == ["queen", "king"]
    path.write_text("queen\nking\tx\n")
    with pytest.raises(FileFormatError, match=r"v.txt:2"):
        read_vocabulary(path)


def test_cli_complete(vectors, tmp_path, capsys):
    folder = tmp_path / "toy"
    OffsetEncoder(vectors, "toy").save_pretrained(folder)
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    argv = ["complete", "man:king", "woman", "--model", str(folder), "--vocab", str(vocab), "-k", "2"]
    assert main([*argv, "--cache-dir", str(tmp_path / "cache"), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["query"] == ["man", "king", "woman"] and row["completions"][0]["word"] == "queen"
    assert main([*argv, "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "1. queen" in capsys.readouterr().out
    assert main(["complete", "man-king", "woman", "--model", str(folder), "--vocab", str(vocab)]) == 1
    assert "head:tail" in capsys.readouterr().err


def test_a_blend_adds_the_arithmetic_score_to_the_re_ranking():
    from static_relation_toy import toy_student

    model, words = toy_student(True, 0.5)
    plain = AnalogyCompleter(model, words, candidates=8, method="mul")
    blended = AnalogyCompleter(model, words, candidates=8, method="mul", blend=3.0)
    by_word = {c.word: c for c in plain.complete(("w1", "w2"), "w3", 8)}
    for c in blended.complete(("w1", "w2"), "w3", 8):
        assert c.score == pytest.approx(by_word[c.word].score + 3.0 * by_word[c.word].offset_score, abs=1e-5)
