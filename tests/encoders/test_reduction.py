"""Compact vectors: a PCA of a model's own vectors, stored in its folder, applied with ``dim=``."""

import shutil

import numpy as np
import pytest

from relvec.encoders.offset import OffsetEncoder, WordVectors
from relvec.encoders.reduction import ReducedEncoder, fit_pca, read_reduction, save_reduction
from relvec.files import FileFormatError
from relvec.loading import load_model


def low_rank_offsets(rank=4, dim=12, words=40, seed=0):
    """An offset model whose word vectors lie in a ``rank``-dim subspace: every offset does too."""
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(words, rank)) @ rng.normal(size=(rank, dim))
    names = [f"w{i}" for i in range(words)]
    return OffsetEncoder(WordVectors(names, matrix.astype(np.float32))), names


def test_a_pca_keeps_the_order_of_the_nearest_pairs(tmp_path):
    model, words = low_rank_offsets()
    rng = np.random.default_rng(1)
    pairs = [(words[a], words[b]) for a, b in rng.integers(0, len(words), size=(300, 2)) if a != b]
    both = pairs + [(b, a) for a, b in pairs]  # both orders: the offsets' mean is zero, as a PCA centre
    reduction = fit_pca(model.encode(both), 4)
    assert sum(reduction.explained) == pytest.approx(1.0, abs=1e-6)
    full, small = model.encode(pairs), reduction.apply(model.encode(pairs), 4)
    for q in range(10):
        order_full = np.argsort(-(full @ full[q]), kind="stable")[:10]
        order_small = np.argsort(-(small @ small[q]), kind="stable")[:10]
        np.testing.assert_allclose((small @ small[q])[order_full], (full @ full[q])[order_full], atol=1e-4)
        assert set(order_full[:5]) == set(order_small[:5])
    # a smaller prefix of the same PCA loses what the dropped directions held
    assert not np.allclose(reduction.apply(full, 2) @ reduction.apply(full, 2)[0], full @ full[0], atol=1e-2)


def test_a_reduction_round_trips_through_the_folder_and_load_model(tmp_path):
    model, words = low_rank_offsets()
    folder = tmp_path / "offset"
    model.save_pretrained(folder)
    pairs = [(words[i], words[i + 1]) for i in range(30)] + [(words[i + 1], words[i]) for i in range(30)]
    reduction = fit_pca(model.encode(pairs), 6, fitted_on="toy")
    save_reduction(reduction, folder)
    again = read_reduction(folder)
    np.testing.assert_array_equal(again.components, reduction.components)
    assert again.fitted_on == "toy" and again.max_dim == 6
    reduced = load_model(str(folder), dim=4)
    assert isinstance(reduced, ReducedEncoder) and reduced.embedding_dim == 4
    vectors = reduced.encode(pairs[:3])
    assert vectors.shape == (3, 4)
    np.testing.assert_allclose(vectors, reduction.apply(model.encode(pairs[:3]), 4), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    saved = reduced.save_pretrained(tmp_path / "copy")
    np.testing.assert_allclose(load_model(str(saved), dim=4).encode(pairs[:3]), vectors, atol=1e-6)


@pytest.mark.parametrize(
    ("dim", "message"),
    [(0, "positive integer"), (-3, "positive integer"), (13, "larger than"), (8, "holds sizes up to 6")],
)
def test_bad_dims_are_clear_errors(tmp_path, dim, message):
    model, words = low_rank_offsets()
    folder = tmp_path / "offset"
    model.save_pretrained(folder)
    pairs = [(words[i], words[i + 1]) for i in range(30)]
    save_reduction(fit_pca(model.encode(pairs), 6), folder)
    with pytest.raises(ValueError, match=message):
        load_model(str(folder), dim=dim)


def test_a_folder_without_a_reduction_or_with_a_damaged_one(tmp_path):
    model, words = low_rank_offsets()
    model.save_pretrained(tmp_path / "plain")
    with pytest.raises(ValueError, match="relvec reduce"):
        load_model(str(tmp_path / "plain"), dim=4)
    shutil.copytree(tmp_path / "plain", tmp_path / "damaged")
    save_reduction(
        fit_pca(model.encode([(words[0], words[1]), (words[2], words[3]), (words[4], words[5])]), 2),
        tmp_path / "damaged",
    )
    (tmp_path / "damaged" / "reduction.safetensors").write_bytes(b"not safetensors")
    with pytest.raises((FileFormatError, ValueError), match=r"reduction\.safetensors"):
        load_model(str(tmp_path / "damaged"), dim=2)


def test_relvec_reduce_then_embed_with_dim(tiny_dir, suite_data, tmp_path, capsys):
    from relvec.cli import main

    folder = tmp_path / "model"
    shutil.copytree(tiny_dir, folder)
    assert main(["reduce", str(folder), "--dim", "8", "--data-dir", str(suite_data), "--no-progress"]) == 0
    assert "PCA 32 -> 8" in capsys.readouterr().err
    out = tmp_path / "v.npy"
    assert main(["embed", "--model", str(folder), "--dim", "4", "cat:kitten", "dog:puppy", "--output", str(out)]) == 0
    assert np.load(out).shape == (2, 4)
    assert main(["embed", "--model", str(folder), "--dim", "9", "cat:kitten", "--output", str(out)]) == 1
    assert "holds sizes up to 8" in capsys.readouterr().err


def test_uncentred_by_default_centred_on_request():
    model, words = low_rank_offsets()
    pairs = [(words[i], words[i + 1]) for i in range(30)]  # one order only: the offsets' mean is not zero
    vectors = model.encode(pairs)
    plain, centred = fit_pca(vectors, 4), fit_pca(vectors, 4, center=True)
    assert not plain.mean.any() and centred.mean.any()
    # both span the vectors' 4-dim subspace: the uncentred one keeps every cosine exactly
    small = plain.apply(vectors, 4)
    np.testing.assert_allclose(small @ small.T, vectors @ vectors.T, atol=1e-4)
