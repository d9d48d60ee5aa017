"""Pooling token states into one relation vector (RelBERT, Sec. 3.1: mask / average / average_no_mask)."""

from __future__ import annotations

import torch


def pool(
    hidden: torch.Tensor,
    attention_mask: torch.Tensor,
    mask_token_mask: torch.Tensor,
    mask_index: torch.Tensor,
    mode: str,
) -> torch.Tensor:
    """Pool ``hidden`` (batch, seq, dim) into (batch, dim) in float32.

    ``attention_mask`` marks real (non-padding) tokens, ``mask_token_mask`` marks every mask
    token, ``mask_index`` is the position of the template's own mask token (-1 if absent).
    The averages are true means: the sum over the kept tokens divided by their count.
    """
    hidden = hidden.float()
    if mode == "mask":
        if bool((mask_index < 0).any()):
            raise ValueError("pooling='mask' needs a mask token in every prompt")
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), mask_index]
    keep = attention_mask.bool()
    if mode == "average_no_mask":
        keep = keep & ~mask_token_mask.bool()
    elif mode != "average":
        raise ValueError(f"unknown pooling mode {mode!r}")
    return masked_mean(hidden, keep)


def masked_mean(hidden: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` (batch, seq, dim) over the positions where ``keep`` (batch, seq) is set."""
    weights = keep.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
