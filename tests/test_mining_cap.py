"""Mining with a per-head cap: at most m pairs of any head word, otherwise the exact top k."""

import numpy as np
import pytest
import torch
from static_relation_toy import toy_student

from relvec.mining import best_per_head, mine_pairs


def brute(scores: np.ndarray, k: int, m: int) -> list[int]:
    """Flat indices: every finite entry by (−score, index), at most m per row, the first k."""
    width = scores.shape[1]
    flat = scores.reshape(-1)
    taken: dict[int, int] = {}
    out = []
    for i in sorted(np.flatnonzero(np.isfinite(flat)), key=lambda i: (-flat[i], i)):
        if taken.get(i // width, 0) < m:
            taken[i // width] = taken.get(i // width, 0) + 1
            out.append(int(i))
    return out[:k]


def test_the_cap_is_the_brute_force_in_fp32_and_after_a_bf16_pass():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(12, 30)).astype(np.float32)
    truth[:, 5] = -np.inf  # excluded pairs never come back
    truth[3, :] = truth[3, :] + 3  # a hub head: would fill an uncapped list
    truth[7, 2] = truth[7, 9] = truth[8, 1]  # exact ties: by index
    flat = truth.reshape(-1)
    for m in (1, 2, 4):
        best, values = best_per_head(flat, 30, 10, m, torch.float32, lambda rows: flat[rows])
        assert best.tolist() == brute(truth, 10, m) and np.allclose(values, flat[best])
        coarse = flat + rng.normal(scale=1e-3, size=flat.shape).astype(np.float32)  # a bf16-like pass
        best, values = best_per_head(coarse, 30, 10, m, torch.bfloat16, lambda rows: flat[rows])
        assert best.tolist() == brute(truth, 10, m) and np.allclose(values, flat[best])


def test_mining_with_a_cap_keeps_m_per_head():
    model, words = toy_student(True, 0.5, n=20)
    seeds = [("w1", "w2"), ("w3", "w4")]
    pairs = [(a, b) for a in words for b in words if a != b]
    everything = mine_pairs(model, words, seeds, k=len(pairs), precision="fp32")
    capped = mine_pairs(model, words, seeds, k=12, precision="fp32", max_per_head=2)
    heads = [m.pair[0] for m in capped]
    assert len(capped) == 12 and max(heads.count(h) for h in heads) <= 2
    expected, count = [], {}
    for m in everything:  # already in (−score, row) order
        if count.get(m.pair[0], 0) < 2:
            count[m.pair[0]] = count.get(m.pair[0], 0) + 1
            expected.append(m)
    assert [m.pair for m in capped] == [m.pair for m in expected[:12]]
    with pytest.raises(ValueError, match="max-per-head"):
        mine_pairs(model, words, seeds, max_per_head=0)
