"""Tail averaging: the saved model is the mean of the weights after each of the run's last epochs.

A uniform soup of one run's late checkpoints (as in stochastic weight averaging, here under the linear
decay): it smooths the epoch-to-epoch swings that a selection on small validation sets would chase.
"""

from __future__ import annotations

import torch


def averaged_epochs(epochs: int, count: int) -> list[int]:
    """The 1-based epochs whose weights enter the mean: the last ``count`` of ``epochs``."""
    return list(range(epochs - count + 1, epochs + 1)) if count > 0 else []


def accumulate(
    average: dict[str, torch.Tensor] | None, weights: dict[str, torch.Tensor], n: int
) -> dict[str, torch.Tensor]:
    """The running mean after its ``n``-th member (n ≥ 1): ``avg + (w - avg) / n``; the first member is
    copied exactly. Tensors that are not floating point (e.g. position ids) are taken as they are."""
    if n < 1 or (n > 1 and average is None):
        raise ValueError(f"accumulate: the running mean needs its earlier members (n={n})")
    if n == 1 or average is None:
        return {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}
    out = {}
    for key, value in weights.items():
        value = value.detach().cpu()
        if not value.is_floating_point():
            out[key] = value.clone()
            continue
        mean = average[key].float()
        out[key] = (mean + (value.float() - mean) / n).to(value.dtype)
    return out
