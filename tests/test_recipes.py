"""Recipes: training followed by the hybrid step, and the recipe presets (best-cpu)."""

import json
from pathlib import Path

import numpy as np
import pytest

from relvec.recipes import RECIPE_PRESETS, RecipeArguments, parse_weights, train_recipe
from relvec.training import PRESETS, TrainingArguments

from conftest import tiny_training_args

POS = [("camera", "photographer"), ("pen", "writer"), ("oven", "baker"), ("brush", "painter")]


def test_best_cpu_preset_is_valid_and_selects_on_analogy_valid_splits_only():
    args = RecipeArguments.from_preset("best-cpu", output_dir="x")
    assert args.backbone == "mpnet" and args.hybrid_vectors == "encoder:mpnet" and args.hybrid_bidirectional
    assert args.loss == "nce" and args.num_negative == RECIPE_PRESETS["best-cpu"]["num_negative"]
    assert args.select_on == "analogy_valid" and args.select_sets == args.hybrid_select_on  # epoch and weight alike
    assert 0 < args.average_epochs < args.epochs
    assert args.train_splits == "train,valid"  # so SemEval-valid neither selects nor is reported
    assert "semeval" not in args.hybrid_select_on
    assert set(args.hybrid_select_on.split(",")) == {"sat", "u2", "u4", "google", "bats"}
    assert parse_weights(args.hybrid_weights) == [0.5]  # fixed (RESULTS.md); the valid splits still measure it
    assert RecipeArguments.from_preset("best-cpu", hybrid_weights="0,1").hybrid_weights == "0,1"  # a flag overrides
    with pytest.raises(ValueError, match=r"hybrid_bidirectional \(--hybrid-bidirectional\) must be true or false"):
        RecipeArguments.from_preset("best-cpu", hybrid_bidirectional="yes")
    with pytest.raises(ValueError, match=r"hybrid_select_on \(--hybrid-select-on\) cannot include semeval2012_valid"):
        RecipeArguments.from_preset("best-cpu", hybrid_select_on="u2,semeval2012_valid")
    assert RecipeArguments.from_preset("best-cpu", train_splits="train", hybrid_select_on="u2,semeval2012_valid")


def _train_with_hybrid(tmp_path, tiny_dir, suite_data, vectors: str, weights: str, select_on: str):
    """One epoch on the tiny backbone, ending with the hybrid step; returns the model and its args."""
    training = tiny_training_args(
        tmp_path / "run", tiny_dir, suite_data / "semeval2012", epochs=1, data_dir=str(suite_data)
    )
    args = RecipeArguments.from_dict(
        {**training.to_dict(), "hybrid_vectors": vectors, "hybrid_weights": weights, "hybrid_select_on": select_on}
    )
    return train_recipe(args, show_progress_bar=False), args


def test_training_with_hybrid_vectors_saves_a_hybrid_sharing_the_model(tmp_path, tiny_dir, suite_data):
    from relvec.encoders.hybrid import HybridEncoder
    from relvec.encoders.offset import OffsetEncoder, WordVectors
    from relvec.loading import load_model

    words = ["cat", "kitten", "dog", "puppy", "sun", "planet"]
    vectors = WordVectors(words, np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    OffsetEncoder(vectors).save_pretrained(tmp_path / "vectors")
    model, args = _train_with_hybrid(
        tmp_path, tiny_dir, suite_data, str(tmp_path / "vectors"), "0,1,inf", "u2,semeval2012_valid"
    )
    hybrid_dir = Path(args.output_dir) / "hybrid"
    rows = json.loads((hybrid_dir / "weight_selection.json").read_text())
    assert [r["weight"] for r in rows] == [0.0, 1.0, float("inf")]
    assert not (hybrid_dir / "prompt").exists()  # the trained model is shared, not copied
    hybrid = load_model(str(hybrid_dir))
    assert isinstance(hybrid, HybridEncoder) and hybrid.embedding_dim == 32 + 4
    expected = HybridEncoder(model, OffsetEncoder(vectors), hybrid.weight).encode(POS)
    np.testing.assert_allclose(hybrid.encode(POS), expected, atol=1e-5)


def test_training_with_encoder_word_vectors_saves_their_hybrid(tmp_path, tiny_dir, suite_data):
    from relvec.encoders.hybrid import HybridEncoder
    from relvec.encoders.offset import OffsetEncoder
    from relvec.loading import load_model

    spec = f"encoder:{tiny_dir}"
    model, args = _train_with_hybrid(tmp_path, tiny_dir, suite_data, spec, "0,1", "u2")
    hybrid = load_model(str(Path(args.output_dir) / "hybrid"))
    assert isinstance(hybrid, HybridEncoder) and hybrid.offset.vectors.name == spec
    expected = HybridEncoder(model, OffsetEncoder.from_pretrained(spec), hybrid.weight).encode(POS)
    np.testing.assert_allclose(hybrid.encode(POS), expected, atol=1e-5)


def test_hybrid_weights_are_validated():
    with pytest.raises(ValueError, match="hybrid_weights must be numbers"):
        RecipeArguments(hybrid_weights="0,-1")
    with pytest.raises(ValueError, match="at least one weight"):
        RecipeArguments(hybrid_weights=" , ")


def test_the_trainer_sees_training_arguments_only():
    args = RecipeArguments.from_preset("best-cpu", output_dir="x")
    training = args.training_arguments()
    assert type(training) is TrainingArguments and not any(k.startswith("hybrid") for k in training.to_dict())
    assert training.backbone == "mpnet" and training.preset is None  # a recipe preset is not a training preset
    assert RecipeArguments.from_preset("quick").training_arguments().preset == "quick"
    assert set(PRESETS) < set(RECIPE_PRESETS)
    with pytest.raises(ValueError, match="preset"):
        TrainingArguments.from_preset("best-cpu")


def test_check_out_of_sample_reads_the_saved_training_splits(tmp_path):
    from relvec.recipes import check_out_of_sample

    def folder(splits: str | None):
        path = tmp_path / str(splits)
        path.mkdir()
        arguments = {} if splits is None else {"train_splits": splits}
        (path / "relvec_config.json").write_text(json.dumps({"training": {"arguments": arguments}}))
        return path

    with pytest.raises(ValueError, match="trained on the SemEval valid split"):
        check_out_of_sample(folder("train,valid"), ["sat", "semeval2012_valid"])
    check_out_of_sample(folder("train"), ["semeval2012_valid"])
    check_out_of_sample(folder(None), ["semeval2012_valid"])  # older runs: train only
    check_out_of_sample(tmp_path / "train,valid", ["sat", "u2"])  # SemEval-valid not asked for
    check_out_of_sample(tmp_path / "missing", ["semeval2012_valid"])  # a hub id or plain backbone
