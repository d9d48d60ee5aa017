"""Lexical relation classification: an MLP on frozen pair embeddings, selected on the validation split.

Features of (h, t) are emb(h, t) concatenated with emb(t, h), as in the RelBERT paper. The
encoder is called once per evaluator call; the grid search reuses the same feature matrices. The grid
is trained all at once in PyTorch (:mod:`relvec.evaluation.mlp_grid`, the default) or, as the
reference, one scikit-learn ``MLPClassifier`` per configuration (``classifier="sklearn"``).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from relvec.data import LexicalExample, lexical_relation_path, load_lexical_relation, seeded_subset
from relvec.evaluation.mlp_grid import STOPPING, TorchMLPGrid
from relvec.extras import require

# The paper's grid; a dataset without a validation split uses DEFAULT_CONFIG.
DEFAULT_GRID: dict[str, tuple[Any, ...]] = {
    "learning_rate_init": (1e-3, 1e-4, 1e-5),
    "hidden_layer_sizes": (100, 150, 200),
}
DEFAULT_CONFIG: dict[str, Any] = {"learning_rate_init": 1e-3, "hidden_layer_sizes": 100}
CLASSIFIERS = ("torch", "sklearn")


class LexicalRelationEvaluator:
    """Train and test an ``MLPClassifier`` on pair features; call it with an encoder.

    Returns accuracy, micro and macro F1 and per-class F1 on test (micro F1 over all classes,
    which for single-label data equals accuracy), the selected configuration and every
    configuration's validation micro F1.
    """

    def __init__(
        self,
        train: Sequence[LexicalExample],
        test: Sequence[LexicalExample],
        valid: Sequence[LexicalExample] | None = None,
        name: str = "lexical_relation",
        grid: Mapping[str, Sequence[Any]] | None = None,
        seed: int = 0,
        max_iter: int = 200,
        batch_size: int = 64,
        show_progress_bar: bool | None = None,
        classifier: str = "torch",
        stopping: str = "valid",
    ) -> None:
        """``classifier``: ``torch`` (the whole grid at once) or ``sklearn`` (the reference); ``stopping``
        (torch only): ``valid`` also stops on, and keeps the best epoch by, validation micro-F1; ``loss``
        is scikit-learn's training-loss rule alone."""
        if classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {classifier!r}")
        if stopping not in STOPPING:
            raise ValueError(f"stopping must be one of {STOPPING}, got {stopping!r}")
        for split, items in (("train", train), ("test", test)):
            if not items:
                raise ValueError(f"{name}: the {split} split is empty")
        labels = {e.relation for e in train}
        if len(labels) < 2:
            raise ValueError(f"{name}: the train split needs at least two relations, got {sorted(labels)}")
        unseen = sorted({e.relation for e in [*test, *(valid or [])]} - labels)
        if unseen:
            raise ValueError(f"{name}: relations {unseen} appear in valid/test but not in train")
        self.train, self.test, self.valid = list(train), list(test), list(valid) if valid else None
        self.name = name
        self.grid = dict(grid) if grid is not None else dict(DEFAULT_GRID)
        self.seed = seed
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.classifier = classifier
        self.stopping = stopping
        self.labels = sorted(labels)
        self.primary_metric = "f1_micro"

    @classmethod
    def from_dataset(
        cls, name: str, data_dir: str | None = None, max_examples: int | None = None, **kwargs: Any
    ) -> LexicalRelationEvaluator:
        """Load ``train``/``valid``/``test`` of a named set; ``max_examples`` takes a seeded subset per split."""
        splits = {}
        for split in ("train", "valid", "test"):
            if split == "valid" and lexical_relation_path(name, split, data_dir) is None:
                splits[split] = None
                continue
            items = load_lexical_relation(name, split, data_dir)
            splits[split] = stratified_subset(items, max_examples, seed=kwargs.get("seed", 0))
        return cls(splits["train"], splits["test"], splits["valid"], name=str(name), **kwargs)

    def configurations(self) -> list[dict[str, Any]]:
        if self.valid is None:
            return [dict(DEFAULT_CONFIG)]
        return grid_configurations(self.grid)

    def pairs(self) -> list[tuple[str, str]]:
        """The distinct (head, tail) pairs of all splits."""
        return list(dict.fromkeys((e.head, e.tail) for e in [*self.train, *(self.valid or []), *self.test]))

    def features(self, model: Any) -> dict[str, np.ndarray]:
        """Per split, the matrix [emb(h, t); emb(t, h)] (see :func:`pair_features`)."""
        splits = {"train": self.train, "test": self.test, **({"valid": self.valid} if self.valid else {})}
        return pair_features(model, splits, self.batch_size, self.show_progress_bar)

    def __call__(self, model: Any) -> dict[str, Any]:
        return self.evaluate_features(self.features(model))

    def evaluate_features(self, features: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Grid search on cached features: fit on train, select on valid micro F1, report test."""
        runs = self._grid_torch(features) if self.classifier == "torch" else self._grid_sklearn(features)
        search = [{**config, "valid_f1_micro": score, **extra} for config, score, _, extra in runs]
        best = select_best([score for _, score, _, _ in runs])
        return {
            **self._test_metrics(runs[best][2]),
            "selected": runs[best][0],
            "grid": search,
            "classifier": self.classifier,
            **({"stopping": self.stopping} if self.classifier == "torch" else {}),
            "num_train": len(self.train),
            "num_valid": len(self.valid) if self.valid else 0,
            "num_test": len(self.test),
            "primary_metric": self.primary_metric,
        }

    def _labels(self, items: Sequence[LexicalExample]) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        return np.array([index[e.relation] for e in items], dtype=np.int64)

    def _grid_torch(self, features: Mapping[str, np.ndarray]) -> list[tuple[dict[str, Any], float | None, list, dict]]:
        grid = TorchMLPGrid(self.configurations(), seed=self.seed, max_iter=self.max_iter, stopping=self.stopping)
        valid = {"x_valid": features["valid"], "y_valid": self._labels(self.valid)} if self.valid else {}
        runs = grid.fit_predict(features["train"], self._labels(self.train), features["test"], **valid)
        return [
            (run.config, run.valid_f1_micro, [self.labels[i] for i in run.test_predictions], {"epochs": run.epochs})
            for run in runs
        ]

    def _grid_sklearn(
        self, features: Mapping[str, np.ndarray]
    ) -> list[tuple[dict[str, Any], float | None, list, dict]]:
        y_train = [e.relation for e in self.train]
        runs = []
        for candidate in self.configurations():
            fitted = self._fit(features["train"], y_train, candidate)
            score = None
            if self.valid is not None:
                predicted = fitted.predict(features["valid"])
                score = micro_f1([e.relation for e in self.valid], list(predicted))
            runs.append((candidate, score, list(fitted.predict(features["test"])), {"epochs": int(fitted.n_iter_)}))
        return runs

    def _fit(self, x: np.ndarray, y: Sequence[str], config: Mapping[str, Any]) -> Any:
        require("sklearn", "the scikit-learn reference grid (--classifier sklearn)")
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        classifier = MLPClassifier(random_state=self.seed, max_iter=self.max_iter, **config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(x, y)
        return classifier

    def _test_metrics(self, predicted: Sequence[str]) -> dict[str, Any]:
        truth = [e.relation for e in self.test]
        per_class = per_class_f1(truth, predicted)
        return {
            "accuracy": micro_f1(truth, predicted),
            "f1_micro": micro_f1(truth, predicted),
            "f1_macro": float(np.mean(list(per_class.values()))),
            "per_class_f1": per_class,
        }


def micro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Micro-F1 of single-label predictions, which equals their accuracy."""
    if len(truth) != len(predicted) or not truth:
        raise ValueError(f"{len(truth)} labels but {len(predicted)} predictions")
    return float(np.mean([t == p for t, p in zip(truth, predicted, strict=True)]))


def per_class_f1(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """F1 of every label seen in ``truth`` or ``predicted`` (sorted; 0 where it is undefined), as scikit-learn's
    ``f1_score(average=None, zero_division=0)`` over that label set."""
    scores = {}
    for label in sorted(set(truth) | set(predicted)):
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted, strict=True))
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return scores


def pair_features(
    model: Any, splits: Mapping[str, Sequence[Any]], batch_size: int = 64, show_progress_bar: bool | None = None
) -> dict[str, np.ndarray]:
    """Per split of items with ``head`` and ``tail``, the matrix [emb(h, t); emb(t, h)]; every distinct
    ordered pair of all splits is embedded once, in one ``encode`` call."""
    index: dict[tuple[str, str], int] = {}
    for items in splits.values():
        for e in items:
            index.setdefault((e.head, e.tail), len(index))
            index.setdefault((e.tail, e.head), len(index))
    vectors = np.asarray(
        model.encode(list(index), batch_size=batch_size, show_progress_bar=show_progress_bar), dtype=np.float32
    )
    return {
        split: np.hstack(
            [vectors[[index[(e.head, e.tail)] for e in items]], vectors[[index[(e.tail, e.head)] for e in items]]]
        ).reshape(len(items), -1)
        for split, items in splits.items()
    }


def grid_configurations(grid: Mapping[str, Sequence[Any]] | None = None) -> list[dict[str, Any]]:
    """Every configuration of a grid (default: the paper's), in a fixed order."""
    grid = dict(grid) if grid is not None else dict(DEFAULT_GRID)
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def select_best(valid_scores: Sequence[float | None]) -> int:
    """The configuration with the best validation score; ties keep the earlier one (none: the first)."""
    scores = [score if score is not None else -1.0 for score in valid_scores]
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def stratified_subset(items: Sequence[LexicalExample], size: int | None, seed: int = 0) -> list[LexicalExample]:
    """About ``size`` examples, keeping each relation's share but at least two of every relation."""
    if size is None or len(items) <= size:
        return list(items)
    by_label: dict[str, list[int]] = {}
    for i, e in enumerate(items):
        by_label.setdefault(e.relation, []).append(i)
    chosen: list[int] = []
    for _, indices in sorted(by_label.items()):
        share = max(2, round(size * len(indices) / len(items)))
        chosen += [indices[i] for i in seeded_subset(range(len(indices)), share, seed)]
    return [items[i] for i in sorted(chosen)]
