"""Evaluators: callables taking an encoder and returning a metrics dict with a ``primary_metric``."""

from relvec.evaluation.analogy import AnalogyEvaluator
from relvec.evaluation.base import Evaluator
from relvec.evaluation.cache import EmbeddingCache
from relvec.evaluation.classification import LexicalRelationEvaluator
from relvec.evaluation.combined import MeanEvaluator
from relvec.evaluation.mapping import RelationMappingEvaluator
from relvec.evaluation.suite import evaluate_all, render_markdown

__all__ = [
    "AnalogyEvaluator",
    "EmbeddingCache",
    "Evaluator",
    "LexicalRelationEvaluator",
    "MeanEvaluator",
    "RelationMappingEvaluator",
    "evaluate_all",
    "render_markdown",
]
