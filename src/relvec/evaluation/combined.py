"""Several evaluators as one, e.g. epoch selection on the mean accuracy over the analogy valid splits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from relvec.encoders.base import PairEncoder


class MeanEvaluator:
    """Each evaluator's primary metric under its ``name``, and their unweighted ``mean`` as the primary metric.

    ``report_only`` evaluators are run and reported but left out of the mean (e.g. SemEval-valid beside
    the analogy valid splits). Each set counts once in the mean, whatever its size.
    """

    def __init__(self, evaluators: Sequence[Any], name: str = "mean_of", report_only: Sequence[Any] = ()) -> None:
        if not evaluators:
            raise ValueError(f"{name}: no evaluators to average")
        names = [e.name for e in (*evaluators, *report_only)]
        if len(set(names)) != len(names) or "mean" in names:
            raise ValueError(f"{name}: evaluator names must be distinct and not 'mean', got {names}")
        self.evaluators = list(evaluators)
        self.report_only = list(report_only)
        self.name = name
        self.primary_metric = "mean"

    def __call__(self, model: PairEncoder) -> dict[str, Any]:
        averaged = {e.name: _primary(e, model) for e in self.evaluators}
        reported = {e.name: _primary(e, model) for e in self.report_only}
        return {**averaged, **reported, "mean": float(np.mean(list(averaged.values()))), "primary_metric": "mean"}


def _primary(evaluator: Any, model: PairEncoder) -> float:
    metrics = evaluator(model)
    return float(metrics[metrics.get("primary_metric", evaluator.primary_metric)])
