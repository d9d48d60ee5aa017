"""The evaluator contract: data bound at construction, the model passed at call time."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from relvec.encoders.base import PairEncoder


@runtime_checkable
class Evaluator(Protocol):
    """A callable scoring a model: ``evaluator(model)`` returns a metrics dict whose ``primary_metric``
    key names the metric to select on (higher is better), e.g. ``{"accuracy": 0.5, "primary_metric":
    "accuracy"}``. ``name`` prefixes the metric where several are logged together."""

    name: str
    primary_metric: str

    def __call__(self, model: PairEncoder) -> dict[str, Any]: ...
