"""Pair encoders, one kind per module, all following :class:`relvec.encoders.base.PairEncoder`."""

from relvec.encoders.base import Pair, PairEncoder, validate_pairs
from relvec.encoders.hybrid import HybridEncoder
from relvec.encoders.loading import load_model, model_identity, same_model
from relvec.encoders.prompt import PromptEncoder, PromptFeatures, RelationEncoder
from relvec.encoders.static import StaticOffsetEncoder, WordVectors
from relvec.encoders.word_vectors import EncoderWordVectors

__all__ = [
    "EncoderWordVectors",
    "HybridEncoder",
    "Pair",
    "PairEncoder",
    "PromptEncoder",
    "PromptFeatures",
    "RelationEncoder",
    "StaticOffsetEncoder",
    "WordVectors",
    "load_model",
    "model_identity",
    "same_model",
    "validate_pairs",
]
