"""``relvec reduce``: fit a PCA of a model's own vectors of its training pairs and store it in the model's folder,
so ``load_model(folder, dim=k)`` / ``--dim k`` give compact vectors (:mod:`relvec.encoders.reduction`).

The pairs are those a relvec model trains or distils on, never a test split: SemEval-2012's train and valid pairs
(positives and negatives) and the lexical sets' train and valid pairs, and optionally a file of pairs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from relvec.data.pairs import lexical_pairs, semeval_pairs
from relvec.encoders.reduction import Reduction, fit_pca, save_reduction

Pair = tuple[str, str]


def fitting_pairs(data_dir: str | None, extra: Sequence[Pair] = (), limit: int | None = None, seed: int = 0) -> list:
    """Distinct training pairs (SemEval train/valid, lexical train/valid, then ``extra``), a seeded sample of
    ``limit`` when given."""
    pairs = list(dict.fromkeys([*semeval_pairs(data_dir), *lexical_pairs(data_dir), *extra]))
    if limit is not None and len(pairs) > limit:
        chosen = np.sort(np.random.default_rng(seed).choice(len(pairs), size=limit, replace=False))
        pairs = [pairs[i] for i in chosen]
    return pairs


def reduce_model(
    model: Any,
    folder: str | Path,
    dim: int,
    pairs: Sequence[Pair],
    batch_size: int = 64,
    show_progress_bar: bool | None = None,
    center: bool = False,
) -> Reduction:
    """Fit a PCA of ``dim`` components on ``model``'s unit vectors of ``pairs`` and save it into ``folder``."""
    if not Path(folder).is_dir():
        raise ValueError(f"{folder}: a reduction is stored in the model's folder, and this is not a folder")
    vectors = model.encode(list(pairs), batch_size=batch_size, normalize=True, show_progress_bar=show_progress_bar)
    vectors = np.asarray(vectors)
    fitted_on = f"{len(pairs)} training pairs (SemEval-2012, lexical train/valid)" + (", centred" if center else "")
    reduction = fit_pca(vectors, dim, fitted_on=fitted_on, center=center)
    save_reduction(reduction, folder)
    return reduction
