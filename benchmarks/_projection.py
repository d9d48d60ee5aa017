"""A learned hybrid (an experiment kept out of the package: it did not beat the fixed-weight hybrid on the
valid splits, see RESULTS.md): a linear projection of [prompt ; offset], trained with the contrastive loss on
frozen parts.

The hybrid's joined unit vectors h of every training pair are computed once (its parts stay frozen, so
training is cheap); a matrix P, initialised to the identity (= the plain hybrid), is then trained with NCE on
P·h over the SemEval training relations (each step: every relation, ``num_positive`` positives against
``num_negative`` negatives drawn from its negatives and the other relations' positives), with an L2 pull
``l2·‖P − I‖²`` towards the identity. Every ``eval_every`` steps the SemEval valid questions are answered
with P; the best P is kept, and the identity (step 0) competes too, so the result is never worse on
validation than the plain hybrid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from relvec.data.analogy import AnalogyQuestion
from relvec.data.relation_similarity import RelationRecord, augment_negatives, validation_questions
from relvec.encoders.base import Pair
from relvec.losses import NCELoss
from relvec.validation import check_fields


@dataclass
class ProjectionArguments:
    steps: int = 300
    learning_rate: float = 1e-3
    temperature: float = 0.05
    l2: float = 1e-3
    num_positive: int = 10
    num_negative: int = 64
    eval_every: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "steps": ("int", 1, 100_000),
                "learning_rate": ("float", 1e-7, 1.0),
                "temperature": ("float", 1e-3, 100.0),
                "l2": ("float", 0.0, 1e4),
                "num_positive": ("int", 2, 10_000),
                "num_negative": ("int", 1, 100_000),
                "eval_every": ("int", 1, 100_000),
                "seed": ("int", 0, 2**32 - 1),
            },
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def question_accuracy(questions: Sequence[AnalogyQuestion], vectors: dict[Pair, torch.Tensor]) -> float:
    """Share of questions whose answer has the highest cosine with the stem (ties count as misses)."""
    right = 0
    for q in questions:
        stem = vectors[q.stem]
        scores = torch.stack([vectors[c] @ stem for c in q.choices])
        best = torch.nonzero(scores == scores.max()).flatten()
        right += len(best) == 1 and int(best[0]) == q.answer
    return right / max(len(questions), 1)


def fit_projection(
    hybrid: Any,
    train: Sequence[RelationRecord],
    valid: Sequence[RelationRecord],
    args: ProjectionArguments | None = None,
    batch_size: int = 64,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Train P for ``hybrid`` (which must have no projection yet); returns (P, history)."""
    args = args or ProjectionArguments()
    if getattr(hybrid, "projection", None) is not None:
        raise ValueError("the hybrid already has a projection; fit on the plain hybrid")
    records = [r for r in augment_negatives(train) if len(r.positives) >= 2 and r.negatives]
    questions = validation_questions(valid)
    if not records or not questions:
        raise ValueError("need training relations with two positives and SemEval-style valid relations")
    pairs = list(dict.fromkeys(p for r in records for p in (*r.positives, *r.negatives)))
    asked = list(dict.fromkeys(p for q in questions for p in (q.stem, *q.choices)))
    x = _unit(hybrid, pairs, batch_size)
    xv = _unit(hybrid, asked, batch_size)
    row = {p: i for i, p in enumerate(pairs)}
    members = [(_rows(r.positives, row), _rows(r.negatives, row)) for r in records]
    loss_fn = NCELoss(args.temperature)
    eye = torch.eye(x.shape[1])
    weight = eye.clone().requires_grad_()
    optimizer = torch.optim.Adam([weight], lr=args.learning_rate)
    generator = torch.Generator().manual_seed(args.seed)

    def valid_score() -> float:
        with torch.no_grad():
            projected = torch.nn.functional.normalize(xv @ weight.T, dim=-1)
        return question_accuracy(questions, dict(zip(asked, projected, strict=True)))

    best = {"step": 0, "valid": valid_score(), "weight": eye.clone()}
    history = [{"step": 0, "valid_accuracy": best["valid"]}]
    for step in range(1, args.steps + 1):
        projected = x @ weight.T
        losses = []
        for pos, neg in members:
            p = pos[torch.randperm(len(pos), generator=generator)[: args.num_positive]]
            n = neg[torch.randperm(len(neg), generator=generator)[: args.num_negative]]
            losses.append(loss_fn.compute_loss_from_embeddings(projected[p], projected[n]))
        loss = torch.stack(losses).mean() + args.l2 * (weight - eye).pow(2).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % args.eval_every == 0 or step == args.steps:
            score = valid_score()
            history.append({"step": step, "loss": float(loss.detach()), "valid_accuracy": score})
            if score > best["valid"]:
                best = {"step": step, "valid": score, "weight": weight.detach().clone()}
    info = {"arguments": args.to_dict(), "best_step": best["step"], "valid_accuracy": best["valid"], "history": history}
    return best["weight"], info


def _unit(hybrid: Any, pairs: list[Pair], batch_size: int) -> torch.Tensor:
    vectors = np.asarray(hybrid.encode(pairs, batch_size=batch_size, show_progress_bar=False), dtype=np.float32)
    out = torch.from_numpy(vectors)
    norms = out.norm(dim=1, keepdim=True)
    return out / torch.where(norms == 0, torch.ones_like(norms), norms)


def _rows(pairs: Sequence[Pair], row: dict[Pair, int]) -> torch.Tensor:
    return torch.tensor(sorted({row[p] for p in pairs}), dtype=torch.long)
