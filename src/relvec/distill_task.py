"""The task objective of a distillation: RelBERT's own loss (NCE over SemEval-2012 relations) on the student, beside
imitating the teacher's vectors (``relvec distill --task-weight``).

Each step draws ``relations`` relations of SemEval-2012 *train*; for each, its positive pairs must be closer to each
other than to its own negative pairs, the other drawn relations' positives and ``negatives`` random vocabulary pairs
(cheap for the student: the teacher could afford a few dozen negatives per step, the student thousands). The
student's forward prompt vector f(a, b) is what the loss sees, as the teacher's prompt embedding was in training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from relvec.encoders.pair_network import PairNetwork
from relvec.losses.nce import NCELoss

Pair = tuple[str, str]


@dataclass
class RelationTask:
    """Per relation: its positive and negative pairs as (rows, 2) tensors of word-table rows."""

    positives: list[torch.Tensor]
    negatives: list[torch.Tensor]
    temperature: float = 0.05

    def __len__(self) -> int:
        return len(self.positives)


def relation_task(records: Sequence[object], index: Mapping[str, int], temperature: float = 0.05) -> RelationTask:
    """The relations of ``records`` (RelationRecord: ``positives``, ``negatives``) with two or more positives whose
    words are all in ``index`` (word -> table row)."""
    positives, negatives = [], []
    for record in records:
        pos = [(index[a], index[b]) for a, b in record.positives if a in index and b in index]
        neg = [(index[a], index[b]) for a, b in record.negatives if a in index and b in index]
        if len(pos) >= 2:
            positives.append(torch.as_tensor(pos, dtype=torch.long))
            negatives.append(torch.as_tensor(neg, dtype=torch.long).reshape(-1, 2))
    if not positives:
        raise ValueError("no relation of the task data has two positives in the word table")
    return RelationTask(positives, negatives, temperature)


def task_loss(
    network: PairNetwork,
    table: torch.Tensor,
    task: RelationTask,
    generator: torch.Generator,
    relations: int,
    negatives: int,
) -> torch.Tensor:
    """The mean NCE loss of ``relations`` drawn relations (see the module docstring)."""
    chosen = torch.randperm(len(task), generator=generator)[: min(relations, len(task))].tolist()
    rows = [task.positives[r] for r in chosen]
    random_rows = torch.randint(0, len(table), (negatives, 2), generator=generator)
    every = torch.cat([*rows, *(task.negatives[r] for r in chosen), random_rows])
    vectors = network(table[every[:, 0]], table[every[:, 1]])
    starts = torch.cumsum(torch.as_tensor([0, *(len(r) for r in rows)]), 0).tolist()
    own_start = starts[-1]
    loss_fn = NCELoss(task.temperature)
    losses = []
    for i, r in enumerate(chosen):
        positive = vectors[starts[i] : starts[i + 1]]
        own = sum(len(task.negatives[c]) for c in chosen[:i])
        own_negatives = vectors[own_start + own : own_start + own + len(task.negatives[r])]
        others = torch.cat([vectors[starts[j] : starts[j + 1]] for j in range(len(chosen)) if j != i] or [positive[:0]])
        pool = torch.cat([own_negatives, others, vectors[len(every) - negatives :]])
        losses.append(loss_fn(positive, pool))
    return torch.stack(losses).mean()
