"""Compact relation vectors: a model's vectors reduced to a chosen size by PCA fitted on its own vectors.

A reduction is one PCA of up to ``max_dim`` components (uncentred by default: see :func:`fit_pca`), stored in the
model's folder (``reduction.safetensors``: the mean, zero unless centred, and the components, rows ordered by
explained variance, and ``relvec_reductions.json`` describing it).
Principal components are nested, so one fit serves every size up to ``max_dim``: the vector at size k is the unit
vector of the first k coordinates, (v − μ)·Cₖᵀ / ‖·‖. ``load_model(folder, dim=k)`` gives a
:class:`ReducedEncoder`, a model like any other (``encode``, ``embedding_dim`` k, ``save_pretrained``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from relvec.files import FileFormatError, read_json, read_safetensors, write_file, write_json

REDUCTIONS_CONFIG = "relvec_reductions.json"
REDUCTION_FILE = "reduction.safetensors"
REDUCTIONS_FORMAT = 1


@dataclass(frozen=True)
class Reduction:
    """``mean`` (D,) and ``components`` (max_dim, D) of a PCA; ``fitted_on`` says on what."""

    mean: np.ndarray
    components: np.ndarray
    fitted_on: str = ""
    explained: tuple[float, ...] = ()  # share of the variance each component explains

    @property
    def max_dim(self) -> int:
        return int(self.components.shape[0])

    @property
    def source_dim(self) -> int:
        return int(self.components.shape[1])

    def check_dim(self, dim: Any, model_dim: int | None = None) -> int:
        """``dim`` when this reduction gives it, else a ValueError saying which sizes it holds."""
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim (--dim) must be a positive integer, got {dim!r}")
        if model_dim is not None and dim > model_dim:
            raise ValueError(f"dim (--dim) {dim} is larger than the model's {model_dim} dimensions")
        if dim > self.max_dim:
            raise ValueError(
                f"dim (--dim) {dim}: the folder's reduction holds sizes up to {self.max_dim} "
                f"(fit a larger one with `relvec reduce MODEL --dim {dim}`)"
            )
        return dim

    def apply(self, vectors: np.ndarray, dim: int) -> np.ndarray:
        """Unit vectors of size ``dim`` (a zero vector stays zero)."""
        reduced = (np.asarray(vectors, dtype=np.float32) - self.mean) @ self.components[:dim].T
        norms = np.linalg.norm(reduced, axis=-1, keepdims=True)
        return (reduced / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def fit_pca(vectors: np.ndarray, max_dim: int, fitted_on: str = "", center: bool = False) -> Reduction:
    """The first ``max_dim`` principal directions of ``vectors`` (rows, float32): of their second moment by default
    (an uncentred PCA, i.e. a truncated SVD, which keeps the direction all relation vectors share: measured better
    on analogy valid than the centred one for a hybrid and its student, RESULTS.md), of their covariance with
    ``center``. Each direction's sign is fixed (its largest component positive), so a refit is the same."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"a PCA needs a matrix of at least two vectors, got shape {x.shape}")
    if not 1 <= max_dim <= min(x.shape):
        raise ValueError(f"dim must be in [1, {min(x.shape)}] for {len(x)} vectors of {x.shape[1]} dims, got {max_dim}")
    mean = x.mean(axis=0) if center else np.zeros(x.shape[1])
    moment = (x - mean).T @ (x - mean) / len(x)
    values, vecs = np.linalg.eigh(moment)
    order = np.argsort(values)[::-1][:max_dim]
    components = vecs[:, order].T
    components *= np.sign(components[np.arange(max_dim), np.abs(components).argmax(axis=1)])[:, None]
    explained = tuple(float(v) for v in values[order] / max(values.sum(), 1e-12))
    return Reduction(mean.astype(np.float32), components.astype(np.float32), fitted_on, explained)


def save_reduction(reduction: Reduction, folder: str | Path) -> Path:
    """Write the reduction into ``folder`` (atomically, the side file last)."""
    folder = Path(folder)
    tensors = {"mean": torch.from_numpy(reduction.mean), "components": torch.from_numpy(reduction.components)}
    write_file(folder / REDUCTION_FILE, lambda path: save_file(tensors, str(path)))
    info = {
        "format_version": REDUCTIONS_FORMAT,
        "pca": {
            "file": REDUCTION_FILE,
            "max_dim": reduction.max_dim,
            "source_dim": reduction.source_dim,
            "fitted_on": reduction.fitted_on,
            "explained_variance": [round(v, 6) for v in reduction.explained],
        },
    }
    write_json(folder / REDUCTIONS_CONFIG, info)
    return folder


def read_reduction(folder: str | Path) -> Reduction | None:
    """The folder's reduction, None when it has none; a damaged one is refused naming the file."""
    folder = Path(folder)
    path = folder / REDUCTIONS_CONFIG
    if not path.is_file():
        return None
    info = read_json(path)
    pca = info.get("pca") if isinstance(info, dict) else None
    if not isinstance(pca, dict) or int(info.get("format_version", 0)) > REDUCTIONS_FORMAT:
        raise FileFormatError(f"{path}: not a relvec reductions description this version reads")
    tensors = read_safetensors(folder / REDUCTION_FILE)
    mean, components = tensors.get("mean"), tensors.get("components")
    if mean is None or components is None or components.ndim != 2 or mean.shape != (components.shape[1],):
        raise FileFormatError(f"{folder / REDUCTION_FILE}: expected 'mean' (D,) and 'components' (k, D)")
    if not (bool(torch.isfinite(mean).all()) and bool(torch.isfinite(components).all())):
        raise FileFormatError(f"{folder / REDUCTION_FILE}: non-finite values")
    explained = tuple(float(v) for v in pca.get("explained_variance", []))
    return Reduction(mean.numpy(), components.numpy(), str(pca.get("fitted_on", "")), explained)


class ReducedEncoder:
    """A model whose vectors are reduced to ``dim`` by a :class:`Reduction` (the ``PairEncoder`` protocol)."""

    def __init__(self, model: Any, reduction: Reduction, dim: int) -> None:
        if reduction.source_dim != int(model.embedding_dim):
            raise ValueError(f"a reduction of {reduction.source_dim}-dim vectors for a {model.embedding_dim}-dim model")
        self.model, self.reduction = model, reduction
        self.dim = reduction.check_dim(dim, int(model.embedding_dim))
        self.name_or_path = f"{model.name_or_path}@dim{self.dim}"
        self.model_type = f"{getattr(model, 'model_type', 'relation_encoder')}+pca"

    @property
    def precision(self) -> str:
        return self.model.precision

    @precision.setter
    def precision(self, value: str) -> None:
        self.model.precision = value

    @property
    def embedding_dim(self) -> int:
        return self.dim

    def word_vectors(self) -> Any:
        return self.model.word_vectors()

    def encode(
        self,
        pairs: Any,
        batch_size: int = 64,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        precision: str | None = None,
    ) -> np.ndarray | torch.Tensor:
        """The model's vectors reduced to :attr:`dim` (unit vectors, float32, input order)."""
        full = self.model.encode(
            pairs, batch_size=batch_size, show_progress_bar=show_progress_bar, precision=precision, normalize=True
        )
        result = self.reduction.apply(np.asarray(full, dtype=np.float32), self.dim)
        return torch.from_numpy(result) if convert_to_tensor else result

    def describe(self) -> dict[str, Any]:
        out = dict(self.model.describe()) if callable(getattr(self.model, "describe", None)) else {}
        kept = sum(self.reduction.explained[: self.dim]) if self.reduction.explained else float("nan")
        out.update(
            embedding_dim=self.dim,
            reduction=f"PCA {self.reduction.source_dim} -> {self.dim} ({100 * kept:.1f}% of the variance)",
        )
        return out

    def save_pretrained(self, directory: str | Path) -> Path:
        """The full model's folder with the reduction in it (load it back with ``dim=``)."""
        folder = Path(self.model.save_pretrained(directory))
        save_reduction(self.reduction, folder)
        return folder
