"""Shared pieces of the contrastive losses."""

from __future__ import annotations

import torch
from torch import nn


class RelationLoss(nn.Module):
    """A loss over the embeddings of one relation's positives and negatives.

    Subclasses put their maths in :meth:`compute_loss_from_embeddings`; ``forward`` calls it,
    so the trainer can cache embeddings (gradient cache) and still call the loss directly.
    """

    def compute_loss_from_embeddings(self, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        if positives.ndim != 2 or negatives.ndim != 2 or positives.shape[1] != negatives.shape[1]:
            raise ValueError(
                f"expected (P, d) positives and (N, d) negatives, got {tuple(positives.shape)} "
                f"and {tuple(negatives.shape)}"
            )
        if positives.shape[0] < 2:
            raise ValueError("a relation needs at least two positives for a contrastive loss")
        return self.compute_loss_from_embeddings(positives, negatives)


def cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All pairwise cosine similarities, shape (len(a), len(b))."""
    a = nn.functional.normalize(a.float(), dim=-1)
    b = nn.functional.normalize(b.float(), dim=-1)
    return a @ b.T


def off_diagonal(n: int, device: torch.device) -> torch.Tensor:
    """Boolean (n, n) mask selecting the ordered pairs i != j."""
    return ~torch.eye(n, dtype=torch.bool, device=device)
