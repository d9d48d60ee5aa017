"""The task objective of a distillation: RelBERT's NCE over relations, on the student."""

import numpy as np
import pytest
import torch

from relvec.data.relation_similarity import RelationRecord
from relvec.distill import DistillArguments, distill
from relvec.distill_task import relation_task, task_loss
from relvec.encoders.pair_network import PairNetwork

from conftest import tiny_distill_arguments

WORDS = [f"w{i}" for i in range(24)]


def records():
    index = iter(range(0, 24, 2))
    out = []
    for name in ("r1", "r2", "r3"):
        pairs = [(f"w{a}", f"w{a + 1}") for a in [next(index) for _ in range(4)]]
        out.append(RelationRecord(name, pairs, [("w0", "w23")]))
    return out


def test_relations_keep_pairs_whose_words_are_in_the_table():
    index = {w: i for i, w in enumerate(WORDS)}
    task = relation_task(records(), index)
    assert len(task) == 3 and all(p.shape == (4, 2) for p in task.positives)
    assert all(n.tolist() == [[0, 23]] for n in task.negatives)
    with pytest.raises(ValueError, match="two positives"):
        relation_task(records(), {"w0": 0})


def test_the_task_loss_falls_as_the_student_learns_the_relations():
    torch.manual_seed(0)
    index = {w: i for i, w in enumerate(WORDS)}
    task = relation_task(records(), index, temperature=0.1)
    table = torch.nn.functional.normalize(torch.randn(len(WORDS), 8), dim=1)
    network = PairNetwork(dim=8, hidden=32, rank=4, out_dim=6)
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    first = float(task_loss(network, table, task, torch.Generator().manual_seed(1), 3, 16).detach())
    for _ in range(60):
        loss = task_loss(network, table, task, generator, 3, 16)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    last = float(task_loss(network, table, task, torch.Generator().manual_seed(1), 3, 16).detach())
    assert last < 0.5 * first


def test_distill_with_the_task_loss_trains_and_records_it(tiny_encoder, suite_data, tmp_path):
    args = tiny_distill_arguments(suite_data, tmp_path / "static", task_weight=0.5, task_relations=2, task_negatives=8)
    vocabulary = [
        "cat",
        "kitten",
        "dog",
        "puppy",
        "sun",
        "planet",
        "animal",
        "part",
        "thing",
        "car",
        "road",
        "paris",
        "france",
        "tokyo",
        "japan",
    ]
    model = distill(args, teacher=tiny_encoder, vocabulary=vocabulary)
    assert model.info["arguments"]["task_weight"] == 0.5
    assert np.isfinite(model.encode([("cat", "kitten")])).all()
    with pytest.raises(ValueError, match="task_weight"):
        DistillArguments(task_weight=-1)
