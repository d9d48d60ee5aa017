"""Triplet loss with SBERT-style classification term (RelBERT, EMNLP 2021, Sec. 3.2)."""

from __future__ import annotations

import torch
from torch import nn

from relvec.losses.base import RelationLoss, cosine_matrix, off_diagonal

DISTANCES = ("euclidean", "cosine")


class TripletLoss(RelationLoss):
    """``L_t = max(0, d(a, p) - d(a, n) + ε)`` over every anchor/positive/negative triple of a relation.

    Anchors and positives are ordered pairs of distinct positives; every negative is used. With
    ``classification=True`` the SBERT term ``L_c = -log g(a, p) - log(1 - g(a, n))`` is added,
    ``g(u, v) = sigmoid(W · [u; v; |u - v|])`` with a learnable ``W``.
    """

    def __init__(
        self,
        margin: float = 1.0,
        distance: str = "euclidean",
        classification: bool = False,
        embedding_dim: int | None = None,
    ) -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
        if not margin >= 0:
            raise ValueError(f"margin must be >= 0, got {margin!r}")
        if classification and not embedding_dim:
            raise ValueError("classification=True needs embedding_dim")
        self.margin = float(margin)
        self.distance = distance
        self.classifier = nn.Linear(3 * embedding_dim, 1) if classification and embedding_dim else None

    def _distances(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.distance == "cosine":
            return 1.0 - cosine_matrix(a, b)
        return torch.cdist(a.float(), b.float())

    def compute_loss_from_embeddings(self, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        d_pos = self._distances(positives, positives)  # (P, P): d(a_i, p_j)
        d_neg = self._distances(positives, negatives)  # (P, N): d(a_i, n_k)
        hinge = torch.relu(d_pos.unsqueeze(2) - d_neg.unsqueeze(1) + self.margin)  # (P, P, N)
        loss = hinge[off_diagonal(positives.shape[0], positives.device)].mean()
        if self.classifier is not None:
            loss = loss + self._classification(positives, negatives)
        return loss

    def _classification(self, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        n_pos = positives.shape[0]
        keep = off_diagonal(n_pos, positives.device)
        anchors, others = torch.meshgrid(torch.arange(n_pos), torch.arange(n_pos), indexing="ij")
        a_pos, p = positives[anchors[keep]], positives[others[keep]]
        a_neg = positives.repeat_interleave(negatives.shape[0], dim=0)
        n = negatives.repeat(n_pos, 1)
        logits = torch.cat([self._logit(a_pos, p), self._logit(a_neg, n)])
        labels = torch.cat([torch.ones(len(a_pos)), torch.zeros(len(a_neg))]).to(logits.device)
        return nn.functional.binary_cross_entropy_with_logits(logits, labels)

    def _logit(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        assert self.classifier is not None  # internal invariant
        features = torch.cat([u, v, (u - v).abs()], dim=-1).float()
        return self.classifier(features).squeeze(-1)
