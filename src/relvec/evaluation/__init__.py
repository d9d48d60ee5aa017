"""Evaluators: callables taking an encoder and returning a metrics dict with a ``primary_metric``."""

from relvec.evaluation.analogy import AnalogyEvaluator

__all__ = ["AnalogyEvaluator"]
