"""Nearest-neighbour relation search: an index of pair embeddings, saved with the model's identity."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from relvec.bulk import read_shards
from relvec.data import (
    ANALOGY_DATASETS,
    LEXICAL_DATASETS,
    analogy_path,
    iter_json_values,
    lexical_relation_path,
    load_analogy,
    load_lexical_relation,
    load_relation_similarity,
)
from relvec.data import (
    data_dir as resolve_data_dir,
)
from relvec.data.pairs import UNRELATED_LABELS  # left out of indexes built from the data sets
from relvec.encoders.base import Pair, validate_pairs
from relvec.encoders.loading import localize, model_identity, reference_for, same_model
from relvec.encoders.pair_scoring import top_indices
from relvec.files import FileFormatError, create, read_json, save_into, short_repr, write_json
from relvec.options import COMPRESSED_INDEX_BACKENDS, DATA_SOURCES, INDEX_BACKENDS

INDEX_FORMAT_VERSION = 1
BACKENDS = INDEX_BACKENDS  # the earlier name
# "auto" by index size: exact search below AUTO_EXACT_BELOW pairs, HNSW below AUTO_IVF_FROM, IVF-Flat above
AUTO_EXACT_BELOW, AUTO_IVF_FROM = 50_000, 1_000_000
IVF_NPROBE = 16
RESCORE = 8  # compressed backends: k × RESCORE candidates (at least 128) rescored exactly
_INDEX_FILE = "index.json"
_PAIRS_FILE = "pairs.jsonl"
_VECTORS_FILE = "vectors.npy"
_LABELS_FILE = "labels.json"  # optional: one relation label per pair
_CHUNK = 65_536


@dataclass(frozen=True)
class Neighbour:
    pair: Pair
    score: float


class ModelQueries:
    """What every index kind does with a model: query by pairs, refuse another model (needs ``identity`` and
    ``search(vectors, k, exclude)``)."""

    identity: dict[str, Any]

    def search(self, queries: np.ndarray, k: int = 10, exclude: Sequence[set[Pair]] | None = None) -> Any:
        raise NotImplementedError

    def query(self, model: Any, pairs: Any, k: int = 10, exclude_self: bool = True) -> list[list[Neighbour]]:
        """The ``k`` nearest indexed pairs of each query pair; refuses a model other than the index's."""
        self.check_model(model_identity(model))
        checked, _ = validate_pairs(pairs)
        vectors = np.asarray(model.encode(checked, normalize=True, show_progress_bar=False), dtype=np.float32)
        return self.search(vectors, k, exclude=[{p} for p in checked] if exclude_self else None)

    def check_model(self, identity: dict[str, Any]) -> None:
        """A ValueError unless ``identity`` (:func:`~relvec.encoders.loading.model_identity`) is the index's model."""
        if not same_model(self.identity, identity):
            raise ValueError(
                f"this index was built with {self.identity.get('name')!r}; the query model {identity['name']!r} "
                "embeds pairs differently. Query with the index's model (and its --dim) or rebuild the index."
            )


class RelationIndex(ModelQueries):
    """Unit pair embeddings with exact (chunked matrix product) or FAISS inner-product search."""

    def __init__(
        self,
        pairs: Sequence[Pair],
        vectors: np.ndarray,
        identity: dict[str, Any],
        backend: str = "exact",
        labels: Sequence[str] | None = None,
    ):
        """``labels``: one relation label per pair (the explorer colours its map by them), or None."""
        if backend not in INDEX_BACKENDS:
            raise ValueError(f"index backend must be one of {', '.join(INDEX_BACKENDS)}, got {backend!r}")
        if len(pairs) != len(vectors):
            raise ValueError(f"{len(pairs)} pairs but {len(vectors)} vectors")
        if labels is not None and (len(labels) != len(pairs) or not all(isinstance(x, str) for x in labels)):
            raise ValueError(f"{len(pairs)} pairs need as many string labels, got {short_repr(labels)}")
        self.labels = None if labels is None else list(labels)
        self.pairs = [tuple(p) for p in pairs]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = np.ascontiguousarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)
        self.identity = identity
        self.backend = choose_backend(len(self.pairs)) if backend == "auto" else backend
        self._faiss: Any = None

    def __len__(self) -> int:
        return len(self.pairs)

    @classmethod
    def build(
        cls,
        model: Any,
        pairs: Iterable[Any],
        backend: str = "exact",
        batch_size: int = 64,
        show_progress_bar: bool | None = None,
        labels: Sequence[str] | None = None,
    ) -> RelationIndex:
        """Embed the distinct pairs (first occurrence kept, with its label when ``labels`` are given) and index them."""
        checked, _ = validate_pairs(list(pairs))
        if labels is not None and len(labels) != len(checked):
            raise ValueError(f"{len(checked)} pairs but {len(labels)} labels")
        first = {p: i for i, p in reversed(list(enumerate(checked)))}
        unique = list(dict.fromkeys(checked))
        if not unique:
            raise ValueError("cannot build an index from no pairs")
        kept = None if labels is None else [labels[first[p]] for p in unique]
        vectors = model.encode(unique, batch_size=batch_size, normalize=True, show_progress_bar=show_progress_bar)
        return cls(unique, np.asarray(vectors), model_identity(model), backend, kept)

    # ------------------------------------------------------------------ search
    def search(
        self, queries: np.ndarray, k: int = 10, exclude: Sequence[set[Pair]] | None = None
    ) -> list[list[Neighbour]]:
        """Top ``k`` by cosine for each query vector, best first (ties by index order)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if queries.shape[1] != self.vectors.shape[1]:
            raise ValueError(f"query dimension {queries.shape[1]} != index dimension {self.vectors.shape[1]}")
        norms = np.linalg.norm(queries, axis=1, keepdims=True)
        queries = queries / np.where(norms == 0, 1.0, norms)
        extra = max((len(e) for e in exclude), default=0) if exclude else 0
        want = min(k + extra, len(self))
        rows, scores = self._faiss_search(queries, want) if self.backend != "exact" else self._exact(queries, want)
        return neighbour_lists(rows, scores, lambda r: self.pairs[r], k, exclude)

    def _exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        best_rows = np.zeros((len(queries), 0), dtype=np.int64)
        best_scores = np.zeros((len(queries), 0), dtype=np.float32)
        for start in range(0, len(self), _CHUNK):
            scores = queries @ self.vectors[start : start + _CHUNK].T
            rows = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
            best_rows = np.hstack([best_rows, rows])
            best_scores = np.hstack([best_scores, scores])
            # keep the k best so far; a stable sort on (-score) keeps the lower index on ties
            order = np.argsort(-best_scores, axis=1, kind="stable")[:, :k]
            best_rows = np.take_along_axis(best_rows, order, axis=1)
            best_scores = np.take_along_axis(best_scores, order, axis=1)
        return best_rows, best_scores

    def _faiss_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._faiss is None:
            try:
                import faiss
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError("the faiss backends need faiss-cpu: pip install 'relvec[faiss]'") from exc
            self._faiss = _faiss_index(faiss, self.backend, self.vectors)
        if self.backend not in COMPRESSED_INDEX_BACKENDS:
            scores, rows = self._faiss.search(queries, k)
            return rows, scores
        # codes are approximate: a shortlist of RESCORE × k is scored again exactly from the float vectors
        _, found = self._faiss.search(queries, min(len(self), max(RESCORE * k, 128)))
        out_rows = np.full((len(queries), k), -1, dtype=np.int64)
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for q, rows in enumerate(found):
            rows = np.sort(rows[rows >= 0])  # in row order, so exact ties break by row as everywhere else
            exact = self.vectors[rows] @ queries[q]
            best = top_indices(exact, k)
            out_rows[q, : len(best)], out_scores[q, : len(best)] = rows[best], exact[best]
        return out_rows, out_scores

    @classmethod
    def from_shards(cls, directory: str | Path, backend: str = "auto") -> RelationIndex:
        """An index over the Parquet shards of ``relvec embed --engine ray`` (rows with an error left out)."""
        pairs, vectors, manifest = read_shards(directory)
        first: dict[Pair, int] = {}
        for i, pair in enumerate(pairs):
            first.setdefault(pair, i)
        if len(first) != len(pairs):  # the index holds distinct pairs; keep each pair's first row
            rows = np.fromiter(first.values(), dtype=np.int64)
            pairs, vectors = list(first), vectors[rows]
        return cls(pairs, vectors, localize(manifest["identity"], directory), backend)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        lines = "".join(json.dumps(list(p), ensure_ascii=False) + "\n" for p in self.pairs)
        meta = {
            "format_version": INDEX_FORMAT_VERSION,
            "size": len(self),
            "dim": int(self.vectors.shape[1]),
            "backend": self.backend,
            "model": {**self.identity, **reference_for(str(self.identity.get("name", "")), directory)},
        }

        def write(staging: Path) -> None:
            create(staging / _VECTORS_FILE, lambda p: np.save(p, self.vectors, allow_pickle=False))
            create(staging / _PAIRS_FILE, lambda p: p.write_text(lines, encoding="utf-8"))
            if self.labels is not None:
                write_json(staging / _LABELS_FILE, self.labels)
            write_json(staging / _INDEX_FILE, meta)

        return save_into(directory, write, last=(_INDEX_FILE,))

    @classmethod
    def load(cls, directory: str | Path, backend: str | None = None) -> RelationIndex:
        directory = Path(directory)
        meta_path = directory / _INDEX_FILE
        if not meta_path.is_file():
            raise ValueError(f"{directory} is not a relvec index (no {_INDEX_FILE})")
        meta = read_json(meta_path)
        version = meta.get("format_version", 0) if isinstance(meta, dict) else None
        if not isinstance(version, int) or not isinstance(meta.get("model"), dict):
            raise FileFormatError(f"{meta_path}: not a relvec index description")
        if version > INDEX_FORMAT_VERSION:
            raise ValueError(f"{meta_path} was written by a newer relvec; upgrade relvec")
        pairs_path = directory / _PAIRS_FILE
        pairs = []
        for number, value in iter_json_values(pairs_path):
            if not isinstance(value, list) or len(value) != 2 or not all(isinstance(w, str) for w in value):
                raise FileFormatError(f"{pairs_path}:{number}: expected [head, tail], got {short_repr(value)}")
            pairs.append((value[0], value[1]))
        try:
            vectors = np.load(directory / _VECTORS_FILE, allow_pickle=False)
        except ValueError as exc:  # a pickled object array, or not an .npy file
            raise FileFormatError(f"{directory / _VECTORS_FILE}: not a plain .npy matrix ({exc})") from None
        labels = read_json(directory / _LABELS_FILE) if (directory / _LABELS_FILE).is_file() else None
        if labels is not None and (not isinstance(labels, list) or len(labels) != len(pairs)):
            raise FileFormatError(f"{directory / _LABELS_FILE}: expected a list of one label per pair")
        identity = localize(meta["model"], directory)
        return cls(pairs, vectors, identity, backend or meta.get("backend", "exact"), labels)


def prototype_query(
    positives: np.ndarray, negatives: np.ndarray | None = None, negative_weight: float = 0.5
) -> np.ndarray:
    """One query for "pairs like these": the unit mean of the seed pairs' unit vectors, minus ``negative_weight`` ×
    the mean of the negative pairs' (Rocchio's relevance feedback), made unit again."""

    def unit_rows(x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    if len(np.atleast_2d(positives)) == 0:
        raise ValueError("a relation by examples needs at least one seed pair")
    if not np.isfinite(negative_weight) or negative_weight < 0:
        raise ValueError(f"negative_weight must be a finite number >= 0, got {negative_weight}")
    query = unit_rows(positives).mean(axis=0)
    if negatives is not None and len(np.atleast_2d(negatives)) and np.atleast_2d(negatives).shape[1]:
        query = query - negative_weight * unit_rows(negatives).mean(axis=0)
    norm = np.linalg.norm(query)
    if norm < 1e-9:
        raise ValueError("the seed and negative pairs cancel out: no direction is left to search")
    return (query / norm).astype(np.float32)


def neighbour_lists(
    rows: np.ndarray, scores: np.ndarray, pair_of: Any, k: int, exclude: Sequence[set[Pair]] | None
) -> list[list[Neighbour]]:
    """Per query, the found (row, score)s as :class:`Neighbour` s (``pair_of(row)``), rows of -1 and the query's
    ``exclude`` set left out, at most ``k``."""
    out = []
    for q in range(len(rows)):
        skip = exclude[q] if exclude else set()
        found = [Neighbour(pair_of(r), float(s)) for r, s in zip(rows[q], scores[q], strict=True) if r >= 0]
        out.append([n for n in found if n.pair not in skip][:k])
    return out


def default_lists(size: int) -> int:
    """IVF lists for ``size`` pairs: 2·√n, at least 1 and at most n/39 (k-means wants ~39 points a centroid)."""
    return max(1, min(int(2 * math.sqrt(size)), size // 39))


def choose_backend(size: int) -> str:
    """The backend "auto" means for an index of ``size`` pairs (see :data:`AUTO_EXACT_BELOW`)."""
    if size < AUTO_EXACT_BELOW:
        return "exact"
    return "faiss-hnsw" if size < AUTO_IVF_FROM else "faiss-ivf"


def _faiss_index(faiss: Any, backend: str, vectors: np.ndarray) -> Any:
    """A FAISS inner-product index over unit ``vectors``: flat (exact), HNSW (M 32, efSearch 128) or IVF-Flat
    (2·√n lists, k-means on up to 64 points per list, :data:`IVF_NPROBE` lists probed per query)."""
    n, dim = vectors.shape
    if backend in COMPRESSED_INDEX_BACKENDS:
        return _compressed_index(faiss, backend, vectors)
    if backend == "faiss-hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    elif backend == "faiss-ivf":
        lists = default_lists(n)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.sort(np.random.default_rng(0).choice(n, min(n, 64 * lists), replace=False))]
        index.train(np.ascontiguousarray(sample))
        index.nprobe = min(IVF_NPROBE, lists)
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


def _compressed_index(faiss: Any, backend: str, vectors: np.ndarray) -> Any:
    """HNSW or IVF over 8-bit scalar-quantised vectors (4× smaller than float32), or IVF with product-quantised
    codes of one byte per 8 dimensions (32× smaller); IVF: 2·√n lists, 16 probed; all trained on a seeded sample."""
    n, dim = vectors.shape
    sample = vectors[np.sort(np.random.default_rng(0).choice(n, min(n, 65_536), replace=False))]
    if backend == "faiss-hnsw-sq8":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    elif backend == "faiss-ivf-sq8":
        lists = default_lists(n)
        qt = faiss.ScalarQuantizer.QT_8bit
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, lists, qt, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = min(IVF_NPROBE, lists)
    else:
        lists = default_lists(n)
        subquantizers = next(m for m in (dim // 8, dim // 4, dim // 2, dim) if m >= 1 and dim % m == 0)
        bits = 8 if n >= 256 * 39 else max(1, int(math.log2(max(2, n // 39))))  # PQ needs ~39 points per centroid
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, lists, subquantizers, bits, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = min(IVF_NPROBE, lists)
    index.train(np.ascontiguousarray(sample))
    index.add(vectors)
    return index


def dataset_pairs(data_dir: str | None = None, sources: Sequence[str] = DATA_SOURCES) -> list[Pair]:
    """Every distinct pair of the benchmark data: analogy stems and choices (all splits), lexical-relation
    pairs with a real relation (not random/false), and SemEval-2012 positives."""
    return list(labelled_dataset_pairs(data_dir, sources))


def labelled_dataset_pairs(data_dir: str | None = None, sources: Sequence[str] = DATA_SOURCES) -> dict[Pair, str]:
    """:func:`dataset_pairs` with a relation label each (first seen kept): a lexical pair's relation, a SemEval
    positive's relation, an analogy stem's question prefix (Google, BATS) or set name; an analogy choice that is
    not the answer is labelled "choice"."""
    unknown = sorted(set(sources) - set(DATA_SOURCES))
    if unknown:
        raise ValueError(f"unknown pair sources {unknown}; known: {', '.join(DATA_SOURCES)}")
    data_dir = str(resolve_data_dir(data_dir))  # no directory is an error naming --data-dir, not "nothing found"
    labelled: dict[Pair, str] = {}
    if "analogy" in sources:
        for name in ANALOGY_DATASETS:
            for split in ("valid", "test"):
                try:
                    analogy_path(name, split, data_dir)
                except ValueError:
                    continue
                for q in load_analogy(name, split, data_dir):
                    label = q.prefix or name
                    labelled.setdefault(q.stem, label)
                    for i, choice in enumerate(q.choices):
                        labelled.setdefault(choice, label if i == q.answer else "choice")
    if "lexical" in sources:
        for name in LEXICAL_DATASETS:
            for split in ("train", "valid", "test"):
                if lexical_relation_path(name, split, data_dir) is not None:
                    for e in load_lexical_relation(name, split, data_dir):
                        if e.relation not in UNRELATED_LABELS:
                            labelled.setdefault((e.head, e.tail), e.relation)
    if "semeval" in sources:
        for split in ("train", "valid"):
            for record in load_relation_similarity("semeval2012", split, data_dir):
                for pair in record.positives:
                    labelled.setdefault(pair, record.relation_type)
    return labelled


__all__ = ["Neighbour", "RelationIndex", "dataset_pairs", "labelled_dataset_pairs", "prototype_query"]
