"""A tiny static relation model built in-process (shared by the static-model, completion and server tests)."""

import numpy as np
import torch

from relvec.encoders.pair_network import PairNetwork
from relvec.encoders.static_relation import StaticRelationEncoder


def toy_student(bidirectional=True, weight=0.5, n=30, seed=0, hidden=12):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(n, 6)).astype(np.float32)
    table /= np.linalg.norm(table, axis=1, keepdims=True)
    words = [f"w{i}" for i in range(n - 8)] + "paris france baker bread puppy dog hot cold".split()  # noqa: SIM905
    network = PairNetwork(dim=6, hidden=hidden, rank=3, out_dim=5)  # hidden < 5 scores through W2ᵀW2
    return StaticRelationEncoder(words, table, network, "none", bidirectional, weight), words
