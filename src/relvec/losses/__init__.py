"""Contrastive losses over a relation's positive and negative pair embeddings."""

from __future__ import annotations

from relvec.losses.base import RelationLoss
from relvec.losses.nce import InfoLOOBLoss, NCELoss
from relvec.losses.triplet import TripletLoss

LOSSES = ("nce", "info_loob", "triplet")

__all__ = ["LOSSES", "InfoLOOBLoss", "NCELoss", "RelationLoss", "TripletLoss", "build_loss"]


def build_loss(
    name: str,
    temperature: float = 0.05,
    margin: float = 1.0,
    distance: str = "euclidean",
    classification: bool = False,
    embedding_dim: int | None = None,
) -> RelationLoss:
    """Build a loss by name with its parameters."""
    if name == "nce":
        return NCELoss(temperature)
    if name == "info_loob":
        return InfoLOOBLoss(temperature)
    if name == "triplet":
        return TripletLoss(margin, distance, classification, embedding_dim)
    raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")
