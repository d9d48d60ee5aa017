"""Word vectors from a sentence encoder (encoder:BACKBONE) and their offsets, on the tiny in-process BERT."""

import numpy as np
import pytest

from relvec.encoders.hybrid import HybridEncoder
from relvec.encoders.offset import OffsetEncoder
from relvec.encoders.word_vectors import EncoderWordVectors, is_encoder_spec
from relvec.loading import load_model

PAIRS = [("cat", "kitten"), ("paris", "france"), ("solar system", "planet"), ("dog", "dog")]


@pytest.fixture()
def spec(tiny_dir):
    return f"encoder:{tiny_dir}"


def test_spec_parsing(tiny_dir):
    assert is_encoder_spec("encoder:mpnet") and not is_encoder_spec("encoder:") and not is_encoder_spec("glove-6b-50d")
    with pytest.raises(ValueError, match="encoder:BACKBONE"):
        EncoderWordVectors.from_spec("mpnet")
    with pytest.raises(ValueError, match="batch_size"):
        EncoderWordVectors(str(tiny_dir), batch_size=0)


def test_word_vectors_are_mean_pooled_unit_vectors_independent_of_batching(tiny_dir):
    from sentence_transformers import SentenceTransformer

    words = ["cat", "solar system", "a much longer multi word term here", "dog"]
    # fp32 pinned: the reference is sentence-transformers in fp32 (bf16 differs by ~4e-5)
    vectors = EncoderWordVectors(str(tiny_dir), batch_size=2, precision="fp32")
    vectors.prefetch(words)
    batched = np.stack([vectors.lookup(w) for w in words])
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-6)
    one_by_one = EncoderWordVectors(str(tiny_dir), batch_size=1, precision="fp32")
    np.testing.assert_allclose(np.stack([one_by_one.lookup(w) for w in words]), batched, atol=1e-5)
    # the same vectors as sentence-transformers' default (mean) pooling, normalised
    reference = SentenceTransformer(str(tiny_dir), device="cpu").encode(words, normalize_embeddings=True)
    np.testing.assert_allclose(batched, reference, atol=1e-5)
    assert vectors.lookup("  ") is None and vectors.dim == 32


def test_offsets_save_load_and_hybrid_round_trip(spec, tiny_encoder, tmp_path):
    static = OffsetEncoder.from_pretrained(spec)
    out = static.encode(PAIRS)
    words = static.vectors
    expected = words.lookup("kitten") - words.lookup("cat")
    np.testing.assert_allclose(out[0], expected / np.linalg.norm(expected), atol=1e-6)
    assert not out[3].any()  # identical words: zero offset
    assert static.coverage(PAIRS)["oov_pairs"] == 0  # an encoder knows every term
    static.save_pretrained(tmp_path / "static")
    assert not (tmp_path / "static" / "vectors.npy").exists()  # a reference to the backbone, not a copy
    np.testing.assert_allclose(load_model(str(tmp_path / "static")).encode(PAIRS), out, atol=1e-6)
    np.testing.assert_allclose(load_model(f"offset:{spec}").encode(PAIRS), out, atol=1e-6)
    hybrid = HybridEncoder(tiny_encoder, static, 1.5)
    hybrid.save_pretrained(tmp_path / "hybrid")
    loaded = load_model(str(tmp_path / "hybrid"))
    assert loaded.embedding_dim == 64
    np.testing.assert_allclose(loaded.encode(PAIRS), hybrid.encode(PAIRS), atol=1e-5)


def test_cli_info_describes_an_encoder_word_vector_hybrid(spec, tiny_encoder, tmp_path, capsys):
    from relvec.cli import main

    HybridEncoder(tiny_encoder, OffsetEncoder.from_pretrained(spec), 0.5).save_pretrained(tmp_path / "h")
    assert main(["info", str(tmp_path / "h")]) == 0
    out = capsys.readouterr().out
    assert "vocabulary      open" in out and "encoder:" in out


def test_a_cached_word_is_looked_up_without_touching_the_cache_as_a_whole(tiny_dir, monkeypatch):
    """lookup of a known word costs a dict access: it once walked the whole cache (100,000 lookups took minutes)."""
    vectors = EncoderWordVectors(str(tiny_dir))
    vectors.prefetch(["cat", "dog", " kitten "])
    known = dict(vectors._cache)
    monkeypatch.setattr(vectors, "prefetch", lambda *a, **k: pytest.fail("a cached word was embedded again"))
    assert all(np.array_equal(vectors.lookup(w), known[w.strip()]) for w in ("cat", " dog", "kitten"))
    monkeypatch.undo()
    with pytest.raises(AssertionError):  # the check can fail: an unknown word does go through prefetch
        monkeypatch.setattr(vectors, "prefetch", lambda *a, **k: (_ for _ in ()).throw(AssertionError("new")))
        vectors.lookup("puppy")
