"""The relation explorer page (``GET /``, :data:`relvec/web/explorer.html`: plain HTML and a small script, no build
step, nothing fetched from elsewhere) and its map: the index's pairs projected to 2-D by PCA, coloured by relation
label where the index has labels, with the projection kept so a query pair can be placed on the same map."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from relvec.encoders.reduction import fit_pca
from relvec.serve.limits import RequestError


def explorer_page() -> str:
    """The explorer's HTML."""
    return resources.files("relvec").joinpath("web/explorer.html").read_text(encoding="utf-8")


@dataclass(frozen=True)
class IndexMap:
    """Up to ``limit`` pairs of an index on a 2-D PCA map (a seeded sample), and the projection that drew them."""

    points: list[dict[str, Any]]
    mean: np.ndarray
    axes: np.ndarray  # (2, dim): the first two principal directions

    def locate(self, vectors: np.ndarray) -> list[tuple[float, float]]:
        """Positions of (unit) vectors on this map."""
        xy = (np.asarray(vectors, dtype=np.float64) - self.mean) @ self.axes.T
        return [(round(float(x), 5), round(float(y), 5)) for x, y in xy]


def index_map(index: Any, limit: int) -> IndexMap:
    """The map of ``index`` (see :class:`IndexMap`); each point is ``{"pair", "x", "y"}`` plus ``"label"`` when the
    index has labels."""
    if not hasattr(index, "vectors"):
        raise RequestError(422, f"this index holds {index.backend} codes only, not the vectors a map is drawn from")
    rows = np.arange(len(index.pairs))
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(0).choice(rows, size=limit, replace=False))
    if len(rows) < 3:
        raise RequestError(422, f"the index has {len(rows)} pairs; a map needs at least 3")
    vectors = np.asarray(index.vectors[rows], dtype=np.float64)
    pca = fit_pca(vectors, 2, center=True)  # signs fixed there, so the map is the same everywhere
    drawn = IndexMap([], pca.mean.astype(np.float64), pca.components.astype(np.float64))
    labels = getattr(index, "labels", None)
    for row, (x, y) in zip(rows, drawn.locate(vectors), strict=True):
        point: dict[str, Any] = {"pair": list(index.pairs[row]), "x": x, "y": y}
        if labels is not None:
            point["label"] = labels[row]
        drawn.points.append(point)
    return drawn


# A one-pixel transparent icon: browsers ask for /favicon.ico; it is open like the page, so a keyed server does not
# answer the browser's own request with 401.
FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"></svg>'
