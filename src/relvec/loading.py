"""The import path the README shows (``from relvec.loading import load_model``): :mod:`relvec.encoders.loading`."""

from relvec.encoders.loading import (
    PROBE_PAIRS,
    load_model,
    load_named_model,
    localize,
    model_identity,
    reference_for,
    same_model,
)

__all__ = [
    "PROBE_PAIRS",
    "load_model",
    "load_named_model",
    "localize",
    "model_identity",
    "reference_for",
    "same_model",
]
