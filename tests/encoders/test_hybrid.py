import math

import numpy as np
import pytest

from relvec.encoders.hybrid import HybridEncoder, mixing_factors
from relvec.encoders.loading import _split_weight, load_model
from relvec.encoders.offset import OffsetEncoder, WordVectors

WORDS = ["cat", "kitten", "dog", "puppy", "car", "road", "paris", "france"]
PAIRS = [("cat", "kitten"), ("dog", "puppy"), ("car", "road"), ("paris", "france")]


@pytest.fixture()
def static():
    rng = np.random.default_rng(3)
    return OffsetEncoder(WordVectors(WORDS, rng.normal(size=(len(WORDS), 5)).astype(np.float32), name="toy"))


def cosines(vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit @ unit.T


def test_weight_zero_is_the_prompt_and_weight_infinity_the_offset(tiny_encoder, static):
    prompt_cos = cosines(tiny_encoder.encode(PAIRS))
    offset_cos = cosines(static.encode(PAIRS))
    zero = HybridEncoder(tiny_encoder, static, 0.0).encode(PAIRS)
    assert zero.shape == (4, 32 + 5) and not zero[:, 32:].any()
    np.testing.assert_allclose(cosines(zero), prompt_cos, atol=1e-5)
    infinite = HybridEncoder(tiny_encoder, static, math.inf).encode(PAIRS)
    assert not infinite[:, :32].any()
    np.testing.assert_allclose(cosines(infinite), offset_cos, atol=1e-5)
    w = 1.7
    mixed = HybridEncoder(tiny_encoder, static, w).encode(PAIRS)
    np.testing.assert_allclose(np.linalg.norm(mixed, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(cosines(mixed), (prompt_cos + w * w * offset_cos) / (1 + w * w), atol=1e-5)


def test_out_of_vocabulary_pairs_fall_back_to_the_prompt(tiny_encoder, static):
    model = HybridEncoder(tiny_encoder, static, 1.0)
    out = model.encode([("cat", "kitten"), ("zebra", "stripes")], normalize=True)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert not out[1, 32:].any()
    assert model.coverage([("zebra", "stripes")])["oov_pairs"] == 1


def test_save_load_round_trip(tiny_encoder, static, tmp_path):
    model = HybridEncoder(tiny_encoder, static, 0.6)
    model.save_pretrained(tmp_path / "hybrid")
    for loaded in (HybridEncoder.from_pretrained(tmp_path / "hybrid"), load_model(str(tmp_path / "hybrid"))):
        assert isinstance(loaded, HybridEncoder) and loaded.weight == 0.6 and loaded.embedding_dim == 37
        np.testing.assert_allclose(loaded.encode(PAIRS), model.encode(PAIRS), atol=1e-6)
    HybridEncoder(tiny_encoder, static, math.inf).save_pretrained(tmp_path / "inf")
    assert HybridEncoder.from_pretrained(tmp_path / "inf").weight == math.inf
    assert HybridEncoder.from_pretrained(tmp_path / "hybrid", weight=0.0).weight == 0.0
    reweighted = load_model(f"{tmp_path / 'hybrid'}@2.5")  # a saved hybrid read at another weight
    assert reweighted.weight == 2.5 and reweighted.name_or_path == f"{tmp_path / 'hybrid'}@2.5"
    np.testing.assert_allclose(
        reweighted.encode(PAIRS), HybridEncoder(tiny_encoder, static, 2.5).encode(PAIRS), atol=1e-6
    )
    with pytest.raises(ValueError, match="not a hybrid model folder"):
        HybridEncoder.from_pretrained(tmp_path / "hybrid" / "static")


def test_weight_validation_and_spec_parsing(tiny_encoder, static):
    assert mixing_factors(0) == (1.0, 0.0) and mixing_factors(math.inf) == (0.0, 1.0)
    a, b = mixing_factors(2.0)
    assert a * a + b * b == pytest.approx(1.0) and b / a == pytest.approx(2.0)
    for bad in (-1, float("nan"), "1", True):
        with pytest.raises(ValueError, match="hybrid weight"):
            HybridEncoder(tiny_encoder, static, bad)
    assert _split_weight("runs/model@0.5") == ("runs/model", 0.5)
    assert _split_weight("runs/model") == ("runs/model", 1.0)
    assert _split_weight("org/name@main") == ("org/name@main", 1.0)


def test_select_weight_picks_the_best_validation_mix(static):
    from relvec.data import AnalogyQuestion
    from relvec.evaluation import AnalogyEvaluator
    from relvec.recipes import select_weight

    from conftest import WordOffsetEncoder

    # the prompt side is a constant encoder (every analogy is a tie), the offset side gets them right
    class Constant(WordOffsetEncoder):
        def encode(self, pairs, **kwargs):
            return np.ones((len(pairs), 3), dtype=np.float32)

    prompt = Constant()
    prompt.embedding_dim = 3
    stem = ("cat", "kitten")
    choices = [("car", "road"), ("cat", "kitten"), ("paris", "france")]
    evaluator = AnalogyEvaluator([AnalogyQuestion(stem, tuple(choices), 1)], name="toy")
    weight, rows = select_weight(prompt, static, [0.0, 1.0, math.inf], [evaluator])
    assert [r["toy"] for r in rows] == [0.0, 1.0, 1.0] and weight == 1.0  # ties keep the earlier weight
    with pytest.raises(ValueError, match="no weights"):
        select_weight(prompt, static, [], [evaluator])


def test_cli_info_describes_static_and_hybrid_folders(tiny_encoder, static, tmp_path, capsys):
    from relvec.cli import main

    static.save_pretrained(tmp_path / "s")
    HybridEncoder(tiny_encoder, static, 0.5).save_pretrained(tmp_path / "h")
    assert main(["info", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "static_offset" in out and "vocabulary      8" in out
    assert main(["info", str(tmp_path / "h")]) == 0
    out = capsys.readouterr().out
    assert "hybrid" in out and "weight          0.5" in out and "embedding_dim   37" in out


def test_bidirectional_prompt_part_averages_forward_and_reversed_cosines(tiny_encoder, static, tmp_path):
    reversed_pairs = [(b, a) for a, b in PAIRS]
    forward = cosines(tiny_encoder.encode(PAIRS))
    backward = cosines(tiny_encoder.encode(reversed_pairs))
    offset = cosines(static.encode(PAIRS))
    w = 0.8
    model = HybridEncoder(tiny_encoder, static, w, bidirectional=True)
    out = model.encode(PAIRS)
    assert out.shape == (4, 2 * 32 + 5) and model.embedding_dim == 69
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    expected = ((forward + backward) / 2 + w * w * offset) / (1 + w * w)
    np.testing.assert_allclose(cosines(out), expected, atol=1e-5)
    # the reversed pair's embedding is the forward one with its prompt halves swapped and the offset negated
    flipped = model.encode(reversed_pairs)
    np.testing.assert_allclose(flipped[:, :32], out[:, 32:64], atol=1e-5)
    np.testing.assert_allclose(flipped[:, 64:], -out[:, 64:], atol=1e-5)
    model.save_pretrained(tmp_path / "bi")
    loaded = load_model(str(tmp_path / "bi"))
    assert loaded.bidirectional and loaded.with_weight(0.0).bidirectional
    np.testing.assert_allclose(loaded.encode(PAIRS), out, atol=1e-6)
    with pytest.raises(ValueError, match="bidirectional must be true or false"):
        HybridEncoder(tiny_encoder, static, 1.0, bidirectional="yes")


def test_identity_projection_is_exactly_the_plain_hybrid_and_round_trips(tiny_encoder, static, tmp_path):
    import torch

    plain = HybridEncoder(tiny_encoder, static, 0.6, bidirectional=True)
    same = HybridEncoder(tiny_encoder, static, 0.6, bidirectional=True, projection=torch.eye(plain.joined_dim))
    np.testing.assert_allclose(same.encode(PAIRS, precision="fp32"), plain.encode(PAIRS, precision="fp32"), atol=1e-6)
    matrix = torch.randn(7, plain.joined_dim, generator=torch.Generator().manual_seed(0))
    projected = HybridEncoder(tiny_encoder, static, 0.6, bidirectional=True, projection=matrix)
    out = projected.encode(PAIRS, precision="fp32")
    assert out.shape == (4, 7) and projected.embedding_dim == 7
    expected = plain.encode(PAIRS, precision="fp32") @ matrix.numpy().T
    np.testing.assert_allclose(out, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-5)
    projected.save_pretrained(tmp_path / "p")
    loaded = HybridEncoder.from_pretrained(tmp_path / "p")
    np.testing.assert_allclose(loaded.encode(PAIRS, precision="fp32"), out, atol=1e-6)
    with pytest.raises(ValueError, match="takes no other"):
        HybridEncoder.from_pretrained(tmp_path / "p", weight=1.0)
    with pytest.raises(ValueError, match=r"finite \(D_out, "):
        HybridEncoder(tiny_encoder, static, 0.6, projection=torch.eye(3))
    assert projected.with_weight(0.6).projection is None
