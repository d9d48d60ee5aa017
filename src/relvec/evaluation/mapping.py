"""Relation mapping (Turney, 2008): recover which target term plays the role of each source term.

For a candidate mapping π, score(π) = mean_i max_{j≠i} cos(emb(s_i, s_j), emb(t_π(i), t_π(j))).
The search scores every permutation, vectorised over blocks of permutations (9! = 362,880 for
the largest problem), after a single embedding call for all ordered pairs of all problems.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from relvec.data import MappingProblem, load_relation_mapping

_BLOCK = 40_000  # permutations scored at once (memory ~ block * n^2 floats)


class RelationMappingEvaluator:
    """Accuracy of the best-scoring mapping; call it with an encoder.

    ``accuracy`` is the share of all source terms mapped to the right target (micro);
    ``accuracy_macro`` averages per-problem accuracy; ``solved`` is the share of problems
    mapped entirely right.
    """

    def __init__(
        self,
        problems: Sequence[MappingProblem],
        name: str = "relation_mapping",
        batch_size: int = 64,
        show_progress_bar: bool | None = None,
        max_terms: int = 10,
    ) -> None:
        if not problems:
            raise ValueError(f"{name}: no problems to evaluate")
        for p in problems:
            if len(p.source) > max_terms:
                raise ValueError(
                    f"{name}: problem {p.id} has {len(p.source)} terms; exhaustive search allows {max_terms}"
                )
        self.problems = list(problems)
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.primary_metric = "accuracy"

    @classmethod
    def from_dataset(
        cls, path: str | None = None, data_dir: str | None = None, **kwargs: Any
    ) -> RelationMappingEvaluator:
        return cls(load_relation_mapping(path, data_dir), **kwargs)

    def __call__(self, model: Any) -> dict[str, Any]:
        vectors, index = self._embed(model)
        per_problem = {}
        correct_terms = 0
        for p in self.problems:
            sim = similarity_tensor(p, vectors, index)
            mapping, score = best_mapping(sim)
            hits = [int(m == a) for m, a in zip(mapping, p.answer, strict=True)]
            correct_terms += sum(hits)
            per_problem[p.id] = {
                "accuracy": sum(hits) / len(hits),
                "predicted": [p.candidates[m] for m in mapping],
                "score": score,
                **({"notes": list(p.notes)} if p.notes else {}),
            }
        total_terms = sum(len(p.source) for p in self.problems)
        return {
            "accuracy": correct_terms / total_terms,
            "accuracy_macro": float(np.mean([r["accuracy"] for r in per_problem.values()])),
            "solved": float(np.mean([r["accuracy"] == 1.0 for r in per_problem.values()])),
            "num_problems": len(self.problems),
            "num_terms": total_terms,
            "per_problem": per_problem,
            "primary_metric": self.primary_metric,
        }

    def pairs(self) -> list[tuple[str, str]]:
        """Every ordered pair of source terms and of candidate terms, each once."""
        return list(
            dict.fromkeys(
                pair
                for p in self.problems
                for terms in (p.source, p.candidates)
                for pair in itertools.permutations(terms, 2)
            )
        )

    def _embed(self, model: Any) -> tuple[np.ndarray, dict[tuple[str, str], int]]:
        index = {pair: i for i, pair in enumerate(self.pairs())}
        vectors = np.asarray(
            model.encode(list(index), batch_size=self.batch_size, show_progress_bar=self.show_progress_bar),
            dtype=np.float64,
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms), index


def similarity_tensor(problem: MappingProblem, vectors: np.ndarray, index: dict[tuple[str, str], int]) -> np.ndarray:
    """sim[i, j, k, l] = cos(emb(s_i, s_j), emb(c_k, c_l)); entries with i == j or k == l are -inf."""
    n = len(problem.source)
    src = np.zeros((n, n, vectors.shape[1]))
    tgt = np.zeros((n, n, vectors.shape[1]))
    for i, j in itertools.permutations(range(n), 2):
        src[i, j] = vectors[index[(problem.source[i], problem.source[j])]]
        tgt[i, j] = vectors[index[(problem.candidates[i], problem.candidates[j])]]
    sim = np.einsum("ijd,kld->ijkl", src, tgt)
    eye = np.eye(n, dtype=bool)
    sim[eye] = -np.inf
    sim[:, :, eye] = -np.inf
    return sim


def best_mapping(sim: np.ndarray) -> tuple[tuple[int, ...], float]:
    """The permutation π maximising mean_i max_{j≠i} sim[i, j, π(i), π(j)] (first one on ties)."""
    n = sim.shape[0]
    rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    off_diagonal = rows != cols
    best_score, best_perm = -np.inf, None
    permutations = itertools.permutations(range(n))
    while True:
        block = np.array(list(itertools.islice(permutations, _BLOCK)), dtype=np.intp)
        if block.size == 0:
            break
        # values[m, i, j] = sim[i, j, π_m(i), π_m(j)]
        values = sim[rows, cols, block[:, rows], block[:, cols]]
        values = np.where(off_diagonal, values, -np.inf)
        scores = values.max(axis=2).mean(axis=1)
        top = int(np.argmax(scores))
        if scores[top] > best_score:
            best_score, best_perm = float(scores[top]), tuple(int(x) for x in block[top])
    if best_perm is None:  # pragma: no cover - n >= 2 always yields permutations
        raise ValueError("no permutation to score")
    return best_perm, best_score
