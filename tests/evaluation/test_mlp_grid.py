"""The batched PyTorch MLP grid: exact per-configuration gradients, learning, selection on valid only,
determinism, and agreement with scikit-learn's MLPClassifier."""

import numpy as np
import pytest
import torch

from relvec.data import LexicalExample
from relvec.evaluation import LexicalRelationEvaluator
from relvec.evaluation.mlp_grid import TorchMLPGrid, _Group

GRID = [{"learning_rate_init": lr, "hidden_layer_sizes": h} for lr in (1e-2, 1e-3) for h in (3, 5, 8)]


def blobs(n: int, seed: int, classes: int = 3, dim: int = 6, noise: float = 1.0):
    """Gaussian blobs around fixed class centres (learnable, not trivially: they overlap a little)."""
    centres = np.random.default_rng(123).normal(scale=2.0, size=(classes, dim))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    return (centres[y] + rng.normal(scale=noise, size=(n, dim))).astype(np.float32), y


def test_each_configuration_gets_exactly_its_own_gradient():
    hidden, alpha = [3, 5, 8], 0.1
    group = _Group([0, 1, 2], hidden, 6, 3, torch.Generator().manual_seed(0))
    x, y = (torch.as_tensor(a) for a in blobs(16, 1))
    logits = group.logits(x)
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y.expand(len(hidden), -1), reduction="none")
    ce.mean(dim=1).sum().backward()
    group.add_l2_gradient(alpha, len(x))
    w1, b1, w2, b2 = group.params
    for c in range(len(hidden)):
        own = [p.detach().clone().requires_grad_() for p in group.snapshot(c)]
        alone = torch.relu(x @ own[0] + own[1]) @ own[2] + own[3]
        l2 = 0.5 * alpha * (own[0].pow(2).sum() + own[2].pow(2).sum()) / len(x)
        (torch.nn.functional.cross_entropy(alone, y) + l2).backward()
        units, block = group.units(c), slice(3 * c, 3 * c + 3)
        for grid_grad, mine in zip(
            (w1.grad[:, units], b1.grad[units], w2.grad[units, block], b2.grad[block]), own, strict=True
        ):
            torch.testing.assert_close(grid_grad, mine.grad, rtol=1e-5, atol=1e-6)
        # nothing reaches the output weights outside a configuration's own block
        outside = torch.ones(w2.shape[1], dtype=torch.bool)
        outside[block] = False
        assert not w2.grad[units][:, outside].any()
    assert torch.allclose(
        group.l2(), torch.stack([p[0].pow(2).sum() + p[2].pow(2).sum() for p in map(group.snapshot, range(3))])
    )


def test_the_grid_learns_and_is_deterministic_with_a_seed():
    x, y = blobs(600, 1)
    xv, yv = blobs(200, 2)
    xt, yt = blobs(200, 3)
    runs = TorchMLPGrid(GRID, seed=0).fit_predict(x, y, xt, xv, yv)
    assert len(runs) == len(GRID) and all(1 <= r.epochs <= 200 for r in runs)
    best = max(runs, key=lambda r: r.valid_f1_micro)
    assert best.valid_f1_micro > 0.85 and (best.test_predictions == yt).mean() > 0.85
    again = TorchMLPGrid(GRID, seed=0).fit_predict(x, y, xt, xv, yv)
    for a, b in zip(runs, again, strict=True):
        assert a.valid_f1_micro == b.valid_f1_micro and np.array_equal(a.test_predictions, b.test_predictions)
    other = TorchMLPGrid(GRID, seed=1).fit_predict(x, y, xt, xv, yv)
    assert any(not np.array_equal(a.test_predictions, b.test_predictions) for a, b in zip(runs, other, strict=True))


def _examples(
    x: np.ndarray, y: np.ndarray, split: str
) -> tuple[list[LexicalExample], dict[tuple[str, str], np.ndarray]]:
    items, vectors = [], {}
    for i, (row, label) in enumerate(zip(x, y, strict=True)):
        head, tail = f"h{split}{i}", f"t{split}{i}"
        items.append(LexicalExample(head, tail, f"rel{label}"))
        vectors[(head, tail)] = row
        vectors[(tail, head)] = -row
    return items, vectors


class TableEncoder:
    def __init__(self, table):
        self.table = table

    def encode(self, pairs, **kwargs):
        return np.stack([self.table[tuple(p)] for p in pairs]).astype(np.float32)


def _evaluator_inputs(test_labels_seed: int | None = None):
    splits, table = {}, {}
    for split, (n, seed) in {"train": (400, 1), "valid": (150, 2), "test": (150, 3)}.items():
        x, y = blobs(n, seed)
        if split == "test" and test_labels_seed is not None:
            y = np.random.default_rng(test_labels_seed).permutation(y)
        splits[split], vectors = _examples(x, y, split)
        table |= vectors
    return splits, TableEncoder(table)


def test_selection_uses_valid_never_test():
    grid = {"learning_rate_init": (1e-2, 1e-3), "hidden_layer_sizes": (3, 8)}
    results = []
    for seed in (None, 7):  # the second run shuffles the test labels
        splits, encoder = _evaluator_inputs(seed)
        evaluator = LexicalRelationEvaluator(splits["train"], splits["test"], splits["valid"], grid=grid)
        results.append(evaluator(encoder))
    assert results[0]["selected"] == results[1]["selected"] and results[0]["grid"] == results[1]["grid"]
    assert results[0]["f1_micro"] > 0.85 > results[1]["f1_micro"]


@pytest.mark.parametrize("stopping", ["valid", "loss"])
def test_torch_and_sklearn_agree_on_an_easy_problem(stopping):
    splits, encoder = _evaluator_inputs()
    grid = {"learning_rate_init": (1e-2, 1e-3), "hidden_layer_sizes": (8,)}
    scores = {}
    for classifier in ("torch", "sklearn"):
        evaluator = LexicalRelationEvaluator(
            splits["train"], splits["test"], splits["valid"], grid=grid, classifier=classifier, stopping=stopping
        )
        scores[classifier] = evaluator(encoder)
    for metric in ("f1_micro", "f1_macro"):
        assert abs(scores["torch"][metric] - scores["sklearn"][metric]) < 0.03, (metric, scores)
    assert scores["torch"]["classifier"] == "torch" and scores["sklearn"]["classifier"] == "sklearn"


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="classifier"):
        LexicalRelationEvaluator([], [], classifier="svm")
    with pytest.raises(ValueError, match="one hidden layer"):
        TorchMLPGrid([{"learning_rate_init": 1e-3, "hidden_layer_sizes": (10, 10)}])
