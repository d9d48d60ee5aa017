"""Pair encoders, one kind per module, all following :class:`relvec.encoders.base.PairEncoder`.

Names are imported on first use, so ``import relvec.encoders.base`` (or the CLI's ``--help``) loads no backbone code.
"""

from __future__ import annotations

from relvec.extras import lazy_names

_EXPORTS = {
    "EncoderWordVectors": ".word_vectors",
    "HybridEncoder": ".hybrid",
    "Pair": ".base",
    "PairEncoder": ".base",
    "PromptEncoder": ".prompt",
    "PromptFeatures": ".prompt",
    "RelationEncoder": ".prompt",
    "Layout": ".layout",
    "OffsetEncoder": ".offset",
    "RowScorer": ".pair_scoring",
    "StaticOffsetEncoder": ".offset",
    "StaticRelationEncoder": ".static_relation",
    "WordVectors": ".offset",
    "load_model": ".loading",
    "model_identity": ".loading",
    "same_model": ".loading",
    "validate_pairs": ".base",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_names(__name__, _EXPORTS)
