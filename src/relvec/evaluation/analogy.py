"""Zero-shot analogy questions: pick the choice whose relation embedding is closest to the stem's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from relvec.data import AnalogyQuestion, Pair, load_analogy
from relvec.encoders.base import PairEncoder

# Scores within this distance of the best one count as a tie (a tie for the top is a miss).
TIE_TOLERANCE = 1e-6


class AnalogyEvaluator:
    """Accuracy on a list of analogy questions; call it with an encoder.

    Score of a choice = cosine between the stem pair's embedding and the choice's. With
    ``reverse`` both pairs are embedded reversed, (b, a); with ``bidirectional`` the score is
    the mean of the forward and the reversed cosine. Each distinct pair is embedded once.
    """

    def __init__(
        self,
        questions: Sequence[AnalogyQuestion],
        name: str = "analogy",
        reverse: bool = False,
        bidirectional: bool = False,
        batch_size: int = 64,
        show_progress_bar: bool | None = None,
    ) -> None:
        if not questions:
            raise ValueError(f"{name}: no questions to evaluate")
        if reverse and bidirectional:
            raise ValueError("choose either reverse or bidirectional, not both")
        self.questions = list(questions)
        self.name = name
        self.reverse = reverse
        self.bidirectional = bidirectional
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.primary_metric = "accuracy"

    @classmethod
    def from_dataset(
        cls, name_or_path: str, split: str = "test", data_dir: str | None = None, **kwargs: Any
    ) -> AnalogyEvaluator:
        return cls(load_analogy(name_or_path, split, data_dir), name=str(name_or_path), **kwargs)

    def __call__(self, model: PairEncoder) -> dict[str, Any]:
        correct = self.correct(model)
        by_prefix: dict[str, list[bool]] = defaultdict(list)
        for ok, q in zip(correct, self.questions, strict=True):
            by_prefix[q.prefix].append(ok)
        return {
            "accuracy": float(np.mean(correct)),
            "num_questions": len(correct),
            "per_prefix": {p: {"accuracy": float(np.mean(v)), "num_questions": len(v)} for p, v in by_prefix.items()},
            "primary_metric": self.primary_metric,
        }

    def correct(self, model: PairEncoder) -> list[bool]:
        """Per question, whether ``model`` ranks the answer first (a tie at the top counts as wrong)."""
        return [_is_correct(s, q.answer) for s, q in zip(self.score(model), self.questions, strict=True)]

    def pairs(self) -> list[Pair]:
        """The distinct pairs this evaluator embeds (forward direction)."""
        return list(dict.fromkeys(p for q in self.questions for p in (q.stem, *q.choices)))

    def score(self, model: PairEncoder) -> list[np.ndarray]:
        """Per question, the score of every choice."""
        if self.bidirectional:
            forward = self._cosines(model, reverse=False)
            backward = self._cosines(model, reverse=True)
            return [(f + b) / 2 for f, b in zip(forward, backward, strict=True)]
        return self._cosines(model, reverse=self.reverse)

    def _cosines(self, model: PairEncoder, reverse: bool) -> list[np.ndarray]:
        index = {pair: i for i, pair in enumerate(self.pairs())}
        pairs = [(b, a) if reverse else (a, b) for a, b in index]
        vectors = np.asarray(
            model.encode(pairs, batch_size=self.batch_size, normalize=True, show_progress_bar=self.show_progress_bar),
            dtype=np.float64,
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1.0, norms)
        out = []
        for q in self.questions:
            stem = vectors[index[q.stem]]
            out.append(vectors[[index[c] for c in q.choices]] @ stem)
        return out


def _is_correct(scores: np.ndarray, answer: int) -> bool:
    best = scores.max()
    top = np.flatnonzero(scores >= best - TIE_TOLERANCE)
    return len(top) == 1 and int(top[0]) == answer


# The name of the epoch selector (``select_on``) and of its metrics (``semeval_valid_accuracy``).
SEMEVAL_VALID = "semeval_valid"


def semeval_valid_evaluator(
    questions: Sequence[AnalogyQuestion], batch_size: int = 64, show_progress_bar: bool | None = None
) -> AnalogyEvaluator:
    """The default epoch selector: analogy questions built from the SemEval ``valid`` split."""
    return AnalogyEvaluator(questions, name=SEMEVAL_VALID, batch_size=batch_size, show_progress_bar=show_progress_bar)
