"""Relation indexes of tens of millions of pairs: built shard by shard from ``relvec embed --engine ray`` output
into FAISS structures over 8-bit scalar codes, never holding every float vector at once.

Two structures (the ``backend``): **faiss-hnsw-sq8**, an HNSW graph (M links a node) over the codes: slow to build
(every insert searches the graph), a few ms a query at tens of millions of pairs; **faiss-ivf-sq8**, k-means lists
with the residuals' codes: built in minutes, but relation vectors are spread (one query's neighbours sit in many
lists), so a high recall needs a large share of the lists scanned.

Memory, for ``n`` pairs of dimension ``d``: the codes (``n·d`` bytes: 4× smaller than float32), HNSW's links
(``8·M·n`` bytes at its base layer), the pairs as two int32 word ids each (``8n`` bytes) and the distinct words,
plus one shard of float vectors while building.

- Pass 1 reads only the ``head``/``tail``/``error`` columns: the vocabulary, each row's word ids, and which rows
  are kept (no error; a pair's first row when it repeats).
- Pass 2 reads a seeded sample of the kept vectors (``train_size``) and trains the scalar quantiser (and IVF's
  k-means).
- Pass 3 adds every shard's unit vectors.

A search spends ``effort`` (IVF: lists probed, nprobe; HNSW: efSearch); :func:`calibrate` picks the least that
reaches a recall on held-out queries. Results are ordered by (score, row), so exact ties come back the same on
every CPU. The folder holds ``index.json`` (format, backend, size, dimension, structure settings, effort, the
model's identity), ``codes.faiss`` (FAISS's own serialisation: read without unpickling), ``words.json`` and
``pairs.npy`` (int32 word ids).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from relvec.bulk import MANIFEST, shard_files
from relvec.encoders.base import Pair
from relvec.encoders.loading import localize, reference_for
from relvec.files import FileFormatError, create, read_json, save_into, write_json
from relvec.search import ModelQueries, Neighbour, RelationIndex, default_lists, neighbour_lists

KIND = "codes"
FORMAT_VERSION = 1
BACKENDS = ("faiss-hnsw-sq8", "faiss-ivf-sq8")
DEFAULT_EFFORT = {"faiss-hnsw-sq8": 128, "faiss-ivf-sq8": 32}  # efSearch, nprobe
HNSW_M = 32
_INDEX_FILE, _CODES_FILE, _WORDS_FILE, _PAIRS_FILE = "index.json", "codes.faiss", "words.json", "pairs.npy"


def require_faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("large indexes need faiss-cpu: pip install 'relvec[faiss]'") from exc
    return faiss


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


class ShardReader:
    """The rows of a folder of embedding shards, read shard by shard (module docstring: pass 1 happens here)."""

    def __init__(self, directory: str | Path) -> None:
        import pyarrow.parquet as pq

        self.directory = Path(directory)
        self.manifest = read_json(self.directory / MANIFEST)
        self.files = shard_files(self.directory)
        if not self.files:
            raise FileFormatError(f"{self.directory}: no part-*.parquet shards")
        self.dim = int(self.manifest["identity"]["embedding_dim"])
        ids: dict[str, int] = {}
        heads, tails, ok = [], [], []
        for path in self.files:
            table = pq.read_table(path, columns=["head", "tail", "error"])
            heads.append(_word_ids(table.column("head"), ids))
            tails.append(_word_ids(table.column("tail"), ids))
            ok.append(np.asarray(table.column("error").to_numpy(zero_copy_only=False) == "", dtype=bool))
        self.counts = [len(h) for h in heads]
        self.words = list(ids)
        head, tail = np.concatenate(heads), np.concatenate(tails)
        good = np.flatnonzero(np.concatenate(ok))
        # a pair's first good row: np.unique on (head, tail) keys returns first occurrences
        _, first = np.unique(head[good].astype(np.int64) * len(self.words) + tail[good], return_index=True)
        self.keep = np.zeros(len(head), dtype=bool)
        self.keep[good[first]] = True
        self.pairs = np.stack([head[self.keep], tail[self.keep]], axis=1).astype(np.int32)

    def __len__(self) -> int:
        return len(self.pairs)

    def iter_vectors(self, rows: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Unit float32 vectors of the kept rows, one shard at a time, in index order; with ``rows`` (sorted
        index rows) only those."""
        import pyarrow.parquet as pq

        start = kept_before = 0
        for path, count in zip(self.files, self.counts, strict=True):
            keep = self.keep[start : start + count]
            kept = int(keep.sum())
            wanted = None
            if rows is not None:
                lo, hi = np.searchsorted(rows, [kept_before, kept_before + kept])
                wanted = rows[lo:hi] - kept_before
            if kept and (wanted is None or len(wanted)):
                column = pq.read_table(path, columns=["embedding"]).column("embedding").combine_chunks()
                vectors = column.flatten().to_numpy().reshape(count, self.dim)[keep]
                yield _unit(vectors if wanted is None else vectors[wanted])
            start, kept_before = start + count, kept_before + kept

    def sample(self, size: int, seed: int = 0) -> np.ndarray:
        """A seeded sample of ``size`` kept rows' unit vectors (every row when there are fewer)."""
        rows = np.sort(np.random.default_rng(seed).choice(len(self), min(size, len(self)), replace=False))
        return np.concatenate(list(self.iter_vectors(rows)))


def _word_ids(column: Any, ids: dict[str, int]) -> np.ndarray:
    """int32 ids of a string column's words in ``ids`` (new words appended): one dictionary lookup per distinct
    word of the shard, not per row."""
    encoded = column.combine_chunks().dictionary_encode()
    local = np.asarray([ids.setdefault(str(w), len(ids)) for w in encoded.dictionary.to_pylist()], dtype=np.int32)
    return local[encoded.indices.to_numpy(zero_copy_only=False)]


@dataclass
class CodeIndex(ModelQueries):
    """A FAISS HNSW or IVF structure over 8-bit scalar codes of unit pair vectors, with the pairs as word ids
    (module docstring)."""

    index: Any
    words: list[str]
    pairs: np.ndarray
    identity: dict[str, Any]
    backend: str = "faiss-hnsw-sq8"
    effort: int = 0  # efSearch or nprobe; 0: the backend's default

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"a code index's backend is one of {', '.join(BACKENDS)}, got {self.backend!r}")
        self.effort = int(self.effort or DEFAULT_EFFORT[self.backend])

    def __len__(self) -> int:
        return len(self.pairs)

    def set_effort(self, effort: int) -> None:
        """Search effort: HNSW's efSearch, or IVF's nprobe (at most its lists)."""
        if self.backend == "faiss-ivf-sq8":
            self.index.nprobe = max(1, min(int(effort), int(self.index.nlist)))
        else:
            self.index.hnsw.efSearch = max(1, int(effort))

    @property
    def max_effort(self) -> int:
        return int(self.index.nlist) if self.backend == "faiss-ivf-sq8" else max(len(self), 1)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def pair(self, row: int) -> Pair:
        head, tail = self.pairs[row]
        return self.words[head], self.words[tail]

    # ------------------------------------------------------------------ search
    def search_rows(self, queries: np.ndarray, k: int, effort: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores), each (queries, k), best first; exact ties by row; -1 where fewer than k were found."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if queries.shape[1] != self.dim:
            raise ValueError(f"query dimension {queries.shape[1]} != index dimension {self.dim}")
        self.set_effort(effort or self.effort)
        scores, rows = self.index.search(np.ascontiguousarray(_unit(queries)), k)
        missing = rows < 0
        order = np.lexsort((np.where(missing, np.iinfo(np.int64).max, rows), np.where(missing, np.inf, -scores)))
        return np.take_along_axis(rows, order, axis=1), np.take_along_axis(scores, order, axis=1)

    def search(
        self, queries: np.ndarray, k: int = 10, exclude: Sequence[set[Pair]] | None = None
    ) -> list[list[Neighbour]]:
        """Top ``k`` by (approximate) cosine for each query vector, best first, as :class:`Neighbour` lists."""
        extra = max((len(e) for e in exclude), default=0) if exclude else 0
        rows, scores = self.search_rows(queries, min(k + extra, len(self)))
        return neighbour_lists(rows, scores, self.pair, k, exclude)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        faiss = require_faiss()
        directory = Path(directory)
        meta = {
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "size": len(self),
            "dim": self.dim,
            "backend": self.backend,
            "effort": int(self.effort),
            "model": {**self.identity, **reference_for(str(self.identity.get("name", "")), directory)},
        }

        def write(staging: Path) -> None:
            create(staging / _CODES_FILE, lambda p: faiss.write_index(self.index, str(p)))
            create(staging / _PAIRS_FILE, lambda p: np.save(p, self.pairs, allow_pickle=False))
            write_json(staging / _WORDS_FILE, self.words)
            write_json(staging / _INDEX_FILE, meta)

        return save_into(directory, write, last=(_INDEX_FILE,))

    @classmethod
    def load(cls, directory: str | Path) -> CodeIndex:
        faiss = require_faiss()
        directory = Path(directory)
        meta = read_json(directory / _INDEX_FILE)
        if not isinstance(meta, dict) or meta.get("kind") != KIND or not isinstance(meta.get("model"), dict):
            raise FileFormatError(f"{directory / _INDEX_FILE}: not a relvec index of codes")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"{directory / _INDEX_FILE} was written by a newer relvec; upgrade relvec")
        words = read_json(directory / _WORDS_FILE)
        pairs = np.load(directory / _PAIRS_FILE, allow_pickle=False)
        index = faiss.read_index(str(directory / _CODES_FILE))
        if not isinstance(words, list) or pairs.ndim != 2 or len(pairs) != index.ntotal:
            raise FileFormatError(f"{directory}: words, pairs and codes disagree ({len(pairs)} pairs, {index.ntotal})")
        if len(pairs) and (pairs.min() < 0 or pairs.max() >= len(words)):
            raise FileFormatError(f"{directory / _PAIRS_FILE}: a word id outside {_WORDS_FILE}")
        identity = localize(meta["model"], directory)
        backend = meta.get("backend")
        if backend not in BACKENDS:
            raise FileFormatError(f"{directory / _INDEX_FILE}: unknown backend {backend!r}")
        return cls(index, [str(w) for w in words], pairs, identity, backend, int(meta.get("effort", 0)))


def is_code_index(directory: str | Path) -> bool:
    path = Path(directory) / _INDEX_FILE
    return path.is_file() and isinstance(meta := read_json(path), dict) and meta.get("kind") == KIND


def build_code_index(
    directory: str | Path,
    backend: str = "faiss-hnsw-sq8",
    lists: int | None = None,
    effort: int | None = None,
    train_size: int | None = None,
    seed: int = 0,
    on_stage: Callable[[str], None] | None = None,
    reader: ShardReader | None = None,
) -> CodeIndex:
    """A code index over the shards in ``directory`` (module docstring). IVF: ``lists`` default to
    :func:`default_lists`; the quantisers train on ``train_size`` vectors (default 40 a list, 65,536 for HNSW)."""
    faiss = require_faiss()
    reader = reader or ShardReader(directory)
    if not len(reader):
        raise FileFormatError(f"{directory}: no row without an error")
    if effort is not None and effort < 1:
        raise ValueError(f"the search effort (--nprobe/--ef-search) must be >= 1, got {effort}")
    qt, ip = faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    if backend == "faiss-ivf-sq8":
        lists = lists or default_lists(len(reader))
        if lists < 1 or lists > len(reader):
            raise ValueError(f"lists must be between 1 and the {len(reader)} pairs, got {lists}")
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(reader.dim), reader.dim, lists, qt, ip)
        index.cp.seed = seed
        train_size = train_size or 40 * lists
    elif backend == "faiss-hnsw-sq8":
        if lists is not None:
            raise ValueError("lists (--lists) belong to faiss-ivf-sq8, not faiss-hnsw-sq8")
        index = faiss.IndexHNSWSQ(reader.dim, qt, HNSW_M, ip)
        train_size = train_size or 65_536
    else:
        raise ValueError(f"a code index's backend is one of {', '.join(BACKENDS)}, got {backend!r}")
    if on_stage:
        on_stage("train")
    index.train(np.ascontiguousarray(reader.sample(train_size, seed)))
    for number, vectors in enumerate(reader.iter_vectors()):
        if on_stage:
            on_stage(f"add {number + 1}/{len(reader.files)}")
        index.add(np.ascontiguousarray(vectors))
    identity = localize(reader.manifest["identity"], reader.directory)
    return CodeIndex(index, reader.words, reader.pairs, identity, backend, effort or 0)


def exact_top(reader: ShardReader, queries: np.ndarray, k: int, block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``k`` (rows, scores) of unit ``queries`` over every kept row, streamed shard by shard and ``block``
    queries at a time, so memory stays at one shard (ground truth for recall; ties by row)."""
    queries = _unit(np.atleast_2d(queries))
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    best_scores = np.zeros((len(queries), 0), dtype=np.float32)
    start = 0
    for vectors in reader.iter_vectors():
        rows, scores = [], []
        for q in range(0, len(queries), block):
            part = queries[q : q + block] @ vectors.T
            top = np.argpartition(-part, min(k, part.shape[1]) - 1, axis=1)[:, :k]
            rows.append(top + start)
            scores.append(np.take_along_axis(part, top, axis=1))
        best_rows = np.hstack([best_rows, np.vstack(rows)])
        best_scores = np.hstack([best_scores, np.vstack(scores)])
        order = np.lexsort((best_rows, -best_scores))[:, :k]
        best_rows = np.take_along_axis(best_rows, order, axis=1)
        best_scores = np.take_along_axis(best_scores, order, axis=1)
        start += len(vectors)
    return best_rows, best_scores


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's true top k found among its returned k."""
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def calibrate(index: CodeIndex, queries: np.ndarray, truth: np.ndarray, target: float = 0.95) -> dict:
    """The least effort (doubling from 1 for IVF, 16 for HNSW) whose recall@k on held-out ``queries`` reaches
    ``target``, and the curve; ``index.effort`` is set to it (the last tried when none does)."""
    curve = {}
    effort = 1 if index.backend == "faiss-ivf-sq8" else 16
    while True:
        rows, _ = index.search_rows(queries, truth.shape[1], effort)
        curve[effort] = recall_at(rows, truth)
        if curve[effort] >= target or effort >= min(index.max_effort, 4096):
            break
        effort = min(2 * effort, index.max_effort)
    index.effort = effort
    return {"effort": effort, "recall": curve[effort], "curve": curve}


# Built from shards, "auto" streams into codes once the float vectors would pass this size (bytes).
AUTO_STREAM_BYTES = 2 * 1024**3


def index_from_shards(
    directory: str | Path, backend: str = "auto", lists: int | None = None, effort: int | None = None
) -> Any:
    """The index of a folder of shards: a :class:`CodeIndex` for faiss-ivf-sq8, or for faiss-hnsw-sq8 and "auto"
    once the float vectors would take over :data:`AUTO_STREAM_BYTES` (auto: HNSW); else an in-memory
    :class:`~relvec.search.RelationIndex`. ``lists``/``effort`` belong to a code index only."""
    manifest = read_json(Path(directory) / MANIFEST)
    large = int(manifest.get("rows", 0)) * int(manifest["identity"]["embedding_dim"]) * 4 > AUTO_STREAM_BYTES
    if backend == "faiss-ivf-sq8" or (large and backend in ("auto", "faiss-hnsw-sq8")):
        return build_code_index(
            directory, "faiss-ivf-sq8" if backend == "faiss-ivf-sq8" else "faiss-hnsw-sq8", lists=lists, effort=effort
        )
    if lists is not None or effort is not None:
        raise ValueError(
            f"--lists/--nprobe/--ef-search set an index of codes built from shards; {backend} here is in memory"
        )
    return RelationIndex.from_shards(directory, backend)


def open_index(directory: str | Path, backend: str | None = None) -> Any:
    """A saved index of either kind (``backend`` overrides an in-memory index's; a code index has one)."""
    if is_code_index(directory):
        index = CodeIndex.load(directory)
        if backend not in (None, index.backend):
            raise ValueError(f"{directory} is a {index.backend} index of codes only: --backend {backend} cannot apply")
        return index
    return RelationIndex.load(directory, backend=backend)
