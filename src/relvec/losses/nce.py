"""InfoNCE and InfoLOOB over one relation (the loss of the best released RelBERT models)."""

from __future__ import annotations

import torch

from relvec.losses.base import RelationLoss, cosine_matrix, off_diagonal


class NCELoss(RelationLoss):
    """For every ordered pair of positives i != j (cos similarities s, temperature τ):

    ``-log( exp(s_ij/τ) / (exp(s_ij/τ) + Σ_k exp(s(p_i, n_k)/τ)) )``, averaged over the pairs.
    """

    include_positive_in_denominator = True

    def __init__(self, temperature: float = 0.05) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.temperature = float(temperature)

    def compute_loss_from_embeddings(self, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        pos = cosine_matrix(positives, positives) / self.temperature  # (P, P)
        neg = cosine_matrix(positives, negatives) / self.temperature  # (P, N)
        neg_lse = torch.logsumexp(neg, dim=1, keepdim=True).expand_as(pos)  # log Σ_k exp(s_ik/τ)
        log_denominator = torch.logaddexp(pos, neg_lse) if self.include_positive_in_denominator else neg_lse
        losses = log_denominator - pos
        return losses[off_diagonal(pos.shape[0], pos.device)].mean()


class InfoLOOBLoss(NCELoss):
    """InfoLOOB (Fürst et al., 2022): InfoNCE without the positive term in the denominator."""

    include_positive_in_denominator = False
