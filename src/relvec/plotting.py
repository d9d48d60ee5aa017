"""A 2-D picture of relation embeddings: PCA or t-SNE of labelled pairs, coloured by relation."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from relvec.data import LexicalExample
from relvec.extras import require

METHODS = ("pca", "tsne")


def project(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Project unit-normalised vectors to 2-D with scikit-learn's PCA or t-SNE (cosine metric)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if len(vectors) < 3:
        raise ValueError(f"need at least 3 points to project, got {len(vectors)}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    require("sklearn", f"the {method.upper()} projection of `relvec plot`")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(unit)
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(2, (len(unit) - 1) // 3)))
    return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed).fit_transform(
        unit
    )


def plot_pairs(
    model: Any,
    examples: Sequence[LexicalExample],
    output: str | Path,
    method: str = "pca",
    max_points: int = 2000,
    exclude_labels: Sequence[str] = (),
    seed: int = 0,
    title: str | None = None,
    batch_size: int = 64,
    show_progress_bar: bool | None = None,
) -> Path:
    """Embed labelled pairs (a seeded subset of ``max_points``), project to 2-D and save a PNG."""
    require("matplotlib", "`relvec plot`")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kept = [e for e in examples if e.relation not in set(exclude_labels)]
    if len(kept) > max_points:
        kept = [kept[i] for i in sorted(random.Random(seed).sample(range(len(kept)), max_points))]
    if not kept:
        raise ValueError("no labelled pairs left to plot")
    vectors = np.asarray(
        model.encode([(e.head, e.tail) for e in kept], batch_size=batch_size, show_progress_bar=show_progress_bar)
    )
    points = project(vectors, method, seed)
    figure = Figure(figsize=(7, 6))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for label in sorted({e.relation for e in kept}):
        chosen = np.array([e.relation == label for e in kept])
        axes.scatter(points[chosen, 0], points[chosen, 1], s=6, alpha=0.7, label=f"{label} ({chosen.sum()})")
    axes.legend(markerscale=3, fontsize=8, loc="best")
    axes.set(title=title or f"{getattr(model, 'name_or_path', '')} ({method.upper()})", xticks=[], yticks=[])
    figure.tight_layout()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=120)
    return output
