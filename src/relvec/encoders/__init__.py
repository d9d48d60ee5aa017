"""Pair encoders, one kind per module, all following :class:`relvec.encoders.base.PairEncoder`.

Names are imported on first use, so ``import relvec.encoders.base`` (or the CLI's ``--help``) loads no backbone code.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EncoderWordVectors": "word_vectors",
    "HybridEncoder": "hybrid",
    "Pair": "base",
    "PairEncoder": "base",
    "PromptEncoder": "prompt",
    "PromptFeatures": "prompt",
    "RelationEncoder": "prompt",
    "Layout": "layout",
    "OffsetEncoder": "offset",
    "RowScorer": "pair_scoring",
    "StaticOffsetEncoder": "offset",
    "StaticRelationEncoder": "static_relation",
    "WordVectors": "offset",
    "load_model": "loading",
    "model_identity": "loading",
    "same_model": "loading",
    "validate_pairs": "base",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'relvec.encoders' has no attribute {name!r}")
    return getattr(importlib.import_module(f"relvec.encoders.{_EXPORTS[name]}"), name)
