"""The layout of a relvec relation vector, shared by the hybrid and the static relation model (numpy/torch only).

A vector is up to three unit parts, each scaled so the whole is a unit vector:

    emb(a, b) = [ α·p̂(a, b) ; α·p̂(b, a) ; β·ô(a, b) ]      α = a_w / √2 (bidirectional) or a_w,  β = b_w

with (a_w, b_w) = (1, w) / √(1 + w²) for the offset weight w (:func:`mixing_factors`). The reversed half exists only
when the model is bidirectional, the offset part only when it has an offset weight. Because every part is a unit
vector times a known factor, cos(q, emb) = Σ factor · ⟨q part, unit part⟩ (:meth:`Layout.split`): what lets the
static model score a query against millions of pairs without building their vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

PARTS = ("forward", "reversed", "offset")


def mixing_factors(weight: float) -> tuple[float, float]:
    """(prompt factor, offset factor) for a weight in [0, ∞]; their squares sum to 1."""
    if isinstance(weight, bool) or not isinstance(weight, int | float) or math.isnan(weight) or weight < 0:
        raise ValueError(f"hybrid weight must be a number >= 0 (inf allowed), got {weight!r}")
    if math.isinf(weight):
        return 0.0, 1.0
    scale = math.sqrt(1.0 + weight * weight)
    return 1.0 / scale, weight / scale


@dataclass(frozen=True)
class Layout:
    """Where each part of a relation vector lies and its factor: ``prompt_dim`` is one prompt half's width,
    ``offset_dim`` the offset's, ``weight`` the offset weight (None: no offset part)."""

    prompt_dim: int
    offset_dim: int = 0
    bidirectional: bool = False
    weight: float | None = None

    def __post_init__(self) -> None:
        if self.weight is not None:
            mixing_factors(self.weight)  # validates
        if self.prompt_dim < 1 or (self.weight is not None and self.offset_dim < 1):
            raise ValueError(f"a layout needs positive part widths, got {self.prompt_dim} and {self.offset_dim}")

    @property
    def prompt_width(self) -> int:
        """Width of the prompt part (both halves when bidirectional)."""
        return self.prompt_dim * (2 if self.bidirectional else 1)

    @property
    def dim(self) -> int:
        return self.prompt_width + (self.offset_dim if self.weight is not None else 0)

    def factors(self) -> tuple[float, float]:
        """(prompt factor, offset factor); (1, 0) without an offset part."""
        return mixing_factors(self.weight) if self.weight is not None else (1.0, 0.0)

    def parts(self) -> dict[str, tuple[slice, float]]:
        """name -> (columns, factor of its unit vector) for each part this layout has, in order."""
        prompt, offset = self.factors()
        half = prompt / math.sqrt(2.0) if self.bidirectional else prompt
        out = {"forward": (slice(0, self.prompt_dim), half)}
        if self.bidirectional:
            out["reversed"] = (slice(self.prompt_dim, self.prompt_width), half)
        if self.weight is not None:
            out["offset"] = (slice(self.prompt_width, self.dim), offset)
        return out

    def split(self, query: torch.Tensor) -> dict[str, tuple[float, torch.Tensor]]:
        """A unit embedding cut into its parts: name -> (factor, the query's columns of that part), so that
        cos(query, emb) = Σ factor · ⟨columns, the pair's unit part⟩."""
        if query.shape[-1] != self.dim:
            raise ValueError(f"a query of {query.shape[-1]} dimensions for a {self.dim}-dimensional layout")
        return {name: (factor, query[..., columns]) for name, (columns, factor) in self.parts().items()}

    def write(self, out: torch.Tensor, name: str, part: torch.Tensor) -> None:
        """``out``'s columns of part ``name`` = factor · part / |part| row by row (in place; a zero row stays zero)."""
        columns, factor = self.parts()[name]
        norms = part.norm(dim=1, keepdim=True).clamp_min(1e-12)
        torch.mul(part, factor / norms, out=out[:, columns])
