"""The learned hybrid projection: identity start, validation-selected, deterministic, never worse on valid."""

import numpy as np
import pytest
import torch

from relvec.data.relation_similarity import RelationRecord
from relvec.encoders.hybrid import HybridEncoder
from relvec.encoders.offset import OffsetEncoder, WordVectors

from _projection import ProjectionArguments, fit_projection  # benchmarks/: the learned hybrid lives there


def toy_parts(seed: int = 0):
    """Word vectors where relation r moves a word along its own direction in dims 0-5, while dims 6-11 carry
    large nuisance noise (which a projection can learn to damp); the 'prompt' part is noise."""
    rng = np.random.default_rng(seed)
    words, rows, train, valid = [], [], [], []
    directions = np.hstack([rng.normal(size=(6, 6)), np.zeros((6, 6))])
    scale = np.array([0.3] * 6 + [3.0] * 6)
    for r in range(6):
        pos = []
        for i in range(14):
            head = rng.normal(size=12)
            words += [f"h{r}_{i}", f"t{r}_{i}"]
            rows += [head, head + 2.0 * directions[r] + scale * rng.normal(size=12)]
            pos.append((f"h{r}_{i}", f"t{r}_{i}"))
        train.append(RelationRecord(f"{r}a", pos[:9], []))
        valid.append(RelationRecord(f"{r}a", pos[9:], []))
    vectors = WordVectors(words, np.asarray(rows, dtype=np.float32), name="toy")
    noise = WordVectors(
        words, np.asarray(rows, dtype=np.float32) + rng.normal(size=(len(words), 12)).astype(np.float32), name="noisy"
    )
    return HybridEncoder(OffsetEncoder(noise), OffsetEncoder(vectors), 1.0), train, valid


def test_fit_is_deterministic_and_never_worse_on_valid():
    hybrid, train, valid = toy_parts()
    args = ProjectionArguments(steps=40, eval_every=5, learning_rate=5e-3, num_negative=20)
    matrix, info = fit_projection(hybrid, train, valid, args)
    assert matrix.shape == (hybrid.joined_dim, hybrid.joined_dim)
    assert info["valid_accuracy"] > info["history"][0]["valid_accuracy"] + 0.1  # it learns to damp the noise
    again, info2 = fit_projection(hybrid, train, valid, args)
    assert torch.equal(matrix, again) and info == info2
    if info["best_step"] == 0:
        assert torch.equal(matrix, torch.eye(hybrid.joined_dim))


def test_a_projection_that_cannot_help_stays_the_identity():
    hybrid, train, valid = toy_parts()
    matrix, info = fit_projection(hybrid, train, valid, ProjectionArguments(steps=3, eval_every=1, learning_rate=1e-7))
    assert info["best_step"] == 0 and torch.equal(matrix, torch.eye(hybrid.joined_dim))


def test_arguments_are_validated_and_a_projected_hybrid_is_refused():
    with pytest.raises(ValueError, match="--learning-rate"):
        ProjectionArguments(learning_rate=float("nan"))
    hybrid, train, valid = toy_parts()
    hybrid.set_projection(torch.eye(hybrid.joined_dim))
    with pytest.raises(ValueError, match="already has a projection"):
        fit_projection(hybrid, train, valid)
