import numpy as np
import pytest

from relvec.data import LexicalExample
from relvec.evaluation import LexicalRelationEvaluator
from relvec.evaluation.classification import DEFAULT_CONFIG, stratified_subset

from conftest import WordOffsetEncoder


def separable(split: str, n: int = 20) -> list[LexicalExample]:
    """Two relations whose pair offsets point in opposite directions (linearly separable)."""
    return [LexicalExample(f"up{i}{split}", f"up{i}{split}+", "up") for i in range(n)] + [
        LexicalExample(f"down{i}{split}", f"down{i}{split}-", "down") for i in range(n)
    ]


def offset_encoder() -> WordOffsetEncoder:
    encoder = WordOffsetEncoder(dim=4)
    rng = np.random.default_rng(1)
    for split in ("train", "valid", "test"):
        for i in range(20):
            for kind, sign in (("up", 1.0), ("down", -1.0)):
                base = rng.normal(size=4)
                encoder.vectors[f"{kind}{i}{split}"] = base
                encoder.vectors[f"{kind}{i}{split}{'+' if sign > 0 else '-'}"] = base + sign * np.array([3.0, 0, 0, 0])
    return encoder


def test_separable_toy_features_are_classified_perfectly():
    encoder = offset_encoder()
    grid = {"learning_rate_init": (1e-2,), "hidden_layer_sizes": (10, 20)}
    evaluator = LexicalRelationEvaluator(separable("train"), separable("test"), separable("valid"), grid=grid)
    result = evaluator(encoder)
    assert result["f1_micro"] == result["accuracy"] == 1.0 and result["f1_macro"] == 1.0
    assert result["per_class_f1"] == {"down": 1.0, "up": 1.0}
    assert result["primary_metric"] == "f1_micro" and len(result["grid"]) == 2
    # features embed each distinct ordered pair exactly once: (h, t) and (t, h) for 120 examples
    assert len(encoder.encoded) == len(set(encoder.encoded)) == 240


class Scripted:
    """A stand-in classifier whose accuracy depends on its configuration."""

    n_iter_ = 1

    def __init__(self, good: bool, labels: list[str]):
        self.good, self.labels = good, labels

    def predict(self, x):
        return np.array(self.labels[: len(x)] if self.good else ["up"] * len(x))


def test_grid_search_selects_the_best_validation_configuration(monkeypatch):
    train, valid, test = separable("train", 3), separable("valid", 3), separable("test", 3)
    evaluator = LexicalRelationEvaluator(train, test, valid, classifier="sklearn")
    fits = []

    def fake_fit(x, y, config):
        fits.append(config)
        good = config == {"learning_rate_init": 1e-4, "hidden_layer_sizes": 150}
        return Scripted(good, [e.relation for e in valid])

    monkeypatch.setattr(evaluator, "_fit", fake_fit)
    features = {s: np.zeros((6, 2)) for s in ("train", "valid", "test")}
    result = evaluator.evaluate_features(features)
    assert len(fits) == 9 and result["selected"] == {"learning_rate_init": 1e-4, "hidden_layer_sizes": 150}
    scores = {(g["learning_rate_init"], g["hidden_layer_sizes"]): g["valid_f1_micro"] for g in result["grid"]}
    assert scores[(1e-4, 150)] == 1.0 and scores[(1e-3, 100)] == 0.5
    # no configuration better than another: the first one is kept
    monkeypatch.setattr(evaluator, "_fit", lambda x, y, config: Scripted(False, []))
    assert evaluator.evaluate_features(features)["selected"] == {"learning_rate_init": 1e-3, "hidden_layer_sizes": 100}


def test_without_validation_split_the_default_configuration_is_used():
    evaluator = LexicalRelationEvaluator(separable("train"), separable("test"))
    assert evaluator.configurations() == [DEFAULT_CONFIG]
    result = evaluator(offset_encoder())
    assert result["selected"] == DEFAULT_CONFIG and result["grid"][0]["valid_f1_micro"] is None


def test_bad_splits_are_named():
    with pytest.raises(ValueError, match="at least two relations"):
        LexicalRelationEvaluator([LexicalExample("a", "b", "x")], separable("test"))
    three = [*separable("test"), LexicalExample("x", "y", "other")]
    with pytest.raises(ValueError, match=r"\['other'\] appear in valid/test but not in train"):
        LexicalRelationEvaluator(separable("train"), three)


def test_stratified_subset_keeps_every_relation():
    items = [LexicalExample(f"a{i}", "b", "common") for i in range(200)] + [LexicalExample("r", "s", "rare")]
    subset = stratified_subset(items, 20, seed=0)
    assert {e.relation for e in subset} == {"common", "rare"} and len(subset) <= 22
    assert stratified_subset(items, 20, seed=0) == subset and stratified_subset(items, None) == items
