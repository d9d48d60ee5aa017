"""One relation's loss gradient with bounded memory.

Embeddings of a step are computed with the gradient-cache
technique (Gao et al., 2021) when they do not fit in one chunk: embed every chunk without a
graph, take the loss gradient w.r.t. the embeddings, then re-encode chunk by chunk with a graph
(replaying each chunk's dropout RNG state) and back-propagate the cached gradient. Peak memory
then depends on ``chunk_size``, not on ``num_negative``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch

from relvec.encoders.prompt import PromptFeatures, RelationEncoder
from relvec.losses import RelationLoss
from relvec.precision import autocast


@contextlib.contextmanager
def _replay_rng(state: torch.Tensor) -> Iterator[None]:
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(state)
        yield


def chunks_by_length(features: Sequence[PromptFeatures], size: int) -> list[list[int]]:
    order = sorted(range(len(features)), key=lambda i: -len(features[i].input_ids))
    return [order[i : i + size] for i in range(0, len(order), size)]


def relation_step(
    model: RelationEncoder,
    loss_fn: RelationLoss,
    positives: Sequence[tuple[str, str]],
    negatives: Sequence[tuple[str, str]],
    chunk_size: int,
    precision: str = "fp32",
    scale: float = 1.0,
) -> float:
    """Accumulate into ``.grad`` the gradient of ``scale`` × one relation's loss; return the (unscaled) loss.

    Up to ``chunk_size`` prompts are embedded in one pass with a graph; more use the gradient cache.
    """
    features = model.tokenize([*positives, *negatives])
    n_pos = len(positives)
    device = model.device
    if len(features) <= chunk_size:
        with autocast(precision, device):
            embeddings = model(model.collate(features)).float()
        loss = loss_fn(embeddings[:n_pos], embeddings[n_pos:])
        (loss * scale if scale != 1.0 else loss).backward()
        return float(loss.detach())
    chunks = chunks_by_length(features, chunk_size)
    cached = torch.empty((len(features), model.embedding_dim), dtype=torch.float32, device=device)
    states = []
    with torch.no_grad(), autocast(precision, device):
        for idx in chunks:
            states.append(torch.get_rng_state())
            cached[idx] = model(model.collate([features[i] for i in idx])).float()
    cached.requires_grad_(True)
    loss = loss_fn(cached[:n_pos], cached[n_pos:])
    (loss * scale if scale != 1.0 else loss).backward()  # d loss / d embeddings (and the loss module's parameters)
    grad = cached.grad
    assert grad is not None  # set by backward above
    for idx, state in zip(chunks, states, strict=True):
        with _replay_rng(state), autocast(precision, device):
            out = model(model.collate([features[i] for i in idx])).float()
        out.backward(grad[idx])
    return float(loss.detach())
