"""Embedding millions of pairs on Ray Data, written as resumable Parquet shards.

The library part is Ray Data's batch-inference pattern: :class:`PairEmbedder` is a callable class that
loads the model once per actor (one torch thread each) and embeds a batch of ``head``/``tail`` columns;
:func:`embed_dataset` maps a ``ray.data.Dataset`` through a pool of them (``map_batches`` with a
fixed ``ActorPoolStrategy`` and ``num_cpus`` per actor). A row whose words are unusable gets a NaN embedding and an
``error`` message naming its ``row_id``; the other rows go on.

:func:`embed_to_shards` is the job behind ``relvec embed --engine ray``: it reads the input (Parquet, JSONL
or TSV) with a row id per row, cuts it into shards of ``shard_size`` rows, and embeds every shard whose
``part-NNNNN.parquet`` is not there yet (so a rerun skips finished shards), writing each shard atomically
(``row_id``, ``head``, ``tail``, ``embedding`` as a fixed-size float32 list, ``error``) as soon as its rows
are in. ``manifest.json`` (written first, checked on rerun) names the model and its identity.

Ray is an optional extra (``pip install 'relvec[ray]'``); nothing here starts Ray by itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.data.base import iter_jsonl
from relvec.files import FileFormatError, iter_lines, read_json, short_repr, write_file, write_json
from relvec.loading import load_model, model_identity, reference_for, same_model
from relvec.text import word_problem

MANIFEST = "manifest.json"
SHARD_PATTERN = "part-{:05d}.parquet"


def require_ray() -> Any:
    try:
        import ray.data  # binds `ray`, with its data package loaded
    except ImportError as exc:
        raise ImportError("the ray engine needs Ray Data: pip install 'relvec[ray]'") from exc
    return ray


class PairEmbedder:
    """Ray Data callable class: the model is loaded once per actor; ``__call__`` embeds a numpy batch."""

    def __init__(
        self, model: str, batch_size: int = 64, threads: int = 1, precision: str = "auto", dim: int | None = None
    ) -> None:
        torch.set_num_threads(threads)  # this actor's own process
        self.model = load_model(model, precision=precision, dim=dim)  # every kind's encode honours it
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        heads, tails = [str(h) for h in batch["head"]], [str(t) for t in batch["tail"]]
        ids = batch["row_id"] if "row_id" in batch else np.arange(len(heads))
        errors = [_row_problem(h, t) for h, t in zip(heads, tails, strict=True)]
        good = [i for i, e in enumerate(errors) if not e]
        out = np.full((len(heads), int(self.model.embedding_dim)), np.nan, dtype=np.float32)
        if good:
            pairs = [(heads[i], tails[i]) for i in good]
            out[good] = self.model.encode(pairs, batch_size=self.batch_size, show_progress_bar=False)
        labelled = [f"row {int(r)}: {e}" if e else "" for r, e in zip(ids, errors, strict=True)]
        return {
            "row_id": np.asarray(ids),
            "head": np.asarray(heads, dtype=object),
            "tail": np.asarray(tails, dtype=object),
            "embedding": out,
            "error": np.asarray(labelled, dtype=object),
        }


def _row_problem(head: str, tail: str) -> str:
    for name, word in (("head", head), ("tail", tail)):
        problem = word_problem(word)
        if problem:
            return f"{name} {short_repr(word)} {problem}"
    return ""


def embed_dataset(
    ds: Any,
    model: str,
    workers: int = 2,
    batch_size: int = 256,
    threads_per_worker: int = 1,
    precision: str = "auto",
    dim: int | None = None,
) -> Any:
    """``ds`` (columns ``head``, ``tail``, optionally ``row_id``) with an ``embedding`` and an ``error`` column,
    computed by ``workers`` actors of ``threads_per_worker`` CPUs each (``dim``: the folder's PCA to that size)."""
    if workers < 1 or batch_size < 1 or threads_per_worker < 1:
        raise ValueError("workers, batch_size and threads_per_worker must be >= 1")
    return ds.map_batches(
        PairEmbedder,
        fn_constructor_kwargs={
            "model": model,
            "threads": threads_per_worker,
            "precision": precision,
            "dim": dim,
            "batch_size": max(1, min(64, batch_size)),
        },
        batch_size=batch_size,
        batch_format="numpy",
        compute=require_ray().data.ActorPoolStrategy(size=workers),  # `concurrency=` is deprecated since Ray 2.51
        num_cpus=threads_per_worker,
    )


# ---------------------------------------------------------------------------- input files
def read_rows(path: str | Path) -> tuple[list[str], list[str]]:
    """(heads, tails) of a Parquet (columns head, tail), JSONL ({"head", "tail"} or [head, tail]) or TSV file;
    the row id is the position. Unusable values become "" (reported per row later, never fatal)."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=["head", "tail"])
        return [_text(v) for v in table.column("head").to_pylist()], [
            _text(v) for v in table.column("tail").to_pylist()
        ]
    heads, tails = [], []
    if path.suffix == ".jsonl":
        for _, obj in iter_jsonl(path):
            pair = obj if isinstance(obj, list) else [obj.get("head"), obj.get("tail")] if isinstance(obj, dict) else []
            heads.append(_text(pair[0]) if len(pair) == 2 else "")
            tails.append(_text(pair[1]) if len(pair) == 2 else "")
        return heads, tails
    for _, line in iter_lines(path):
        parts = line.split("\t")
        heads.append(parts[0] if len(parts) == 2 else "")
        tails.append(parts[1] if len(parts) == 2 else "")
    return heads, tails


def input_table(path: str | Path) -> Any:
    """The input's ``head`` and ``tail`` as one Arrow table of strings (unusable values ""): a Parquet file's string
    columns are read as they are (compact: no Python string per row), anything else through :func:`read_rows`."""
    import pyarrow as pa

    if Path(path).suffix == ".parquet":
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=["head", "tail"])
        columns = [table.column(c) for c in ("head", "tail")]
        if all(pa.types.is_string(c.type) or pa.types.is_large_string(c.type) for c in columns):
            head, tail = (pc.fill_null(c, "").combine_chunks() for c in columns)
            return pa.table({"head": head, "tail": tail})
    heads, tails = read_rows(path)
    return pa.table({"head": pa.array(heads, type=pa.string()), "tail": pa.array(tails, type=pa.string())})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------------- the sharded job
def embed_to_shards(
    input_path: str | Path,
    output_dir: str | Path,
    model: str,
    workers: int = 2,
    batch_size: int = 256,
    shard_size: int = 100_000,
    threads_per_worker: int = 1,
    precision: str = "auto",
    dim: int | None = None,
) -> dict[str, Any]:
    """Embed ``input_path`` into Parquet shards under ``output_dir`` (module docstring); Ray must be initialised.
    ``precision`` and ``dim`` (compact vectors by the folder's PCA) act as in :func:`relvec.load_model`.

    Returns a summary: rows, shards written now, shards skipped (already there) and the errors."""
    ray = require_ray()
    import pyarrow as pa

    output = Path(output_dir)
    table = input_table(input_path)
    count = table.num_rows
    if not count:
        raise FileFormatError(f"{input_path}: no rows")
    identity = _check_manifest(output, model, count, shard_size, dim)
    total = math.ceil(count / shard_size)
    pending = [s for s in range(total) if not (output / SHARD_PATTERN.format(s)).is_file()]
    errors: list[str] = []
    if pending:
        todo = pa.concat_tables(
            table.slice(s * shard_size, shard_size).append_column(
                "row_id", pa.array(np.arange(s * shard_size, min((s + 1) * shard_size, count), dtype=np.int64))
            )
            for s in pending
        )
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # batches come back in row order: shards fill one by one
        # several blocks, so every actor gets work (a repartition step would need CPUs the actors hold)
        step = max(batch_size, math.ceil(todo.num_rows / (4 * workers)))
        source = ray.data.from_arrow([todo.slice(i, step) for i in range(0, todo.num_rows, step)])
        ds = embed_dataset(source, model, workers, batch_size, threads_per_worker, precision, dim)
        for shard, part in _shards(ds.iter_batches(batch_size=None, batch_format="numpy"), shard_size):
            _write_shard(output / SHARD_PATTERN.format(shard), part, int(identity["embedding_dim"]))
            errors += [e for e in part["error"] if e]
    return {
        "rows": count,
        "shards": total,
        "written": len(pending),
        "skipped": total - len(pending),
        "errors": errors,
    }


def _check_manifest(output: Path, model: str, rows: int, shard_size: int, dim: int | None = None) -> dict[str, Any]:
    """Write the manifest of a new output folder, or check that a rerun's settings match it."""
    loaded = load_model(model, dim=dim)
    identity = model_identity(loaded)
    manifest = {
        "model": model,
        "identity": {**identity, **reference_for(model + (f"@dim{dim}" if dim else ""), output)},
        "rows": rows,
        "shard_size": shard_size,
        "format_version": 1,
    }
    path = output / MANIFEST
    if path.is_file():
        old = read_json(path)
        if old.get("rows") != rows or old.get("shard_size") != shard_size or not same_model(old["identity"], identity):
            raise ValueError(
                f"{output} holds shards of another job (model, row count or shard size differ); use a new --output"
            )
        return identity
    output.mkdir(parents=True, exist_ok=True)
    write_json(path, manifest)
    return identity


def _shards(batches: Iterator[dict[str, np.ndarray]], shard_size: int) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Regroup ordered batches into complete shards (by ``row_id // shard_size``)."""
    buffer: list[dict[str, np.ndarray]] = []
    current: int | None = None
    for batch in batches:
        shard_of = batch["row_id"] // shard_size
        for shard in np.unique(shard_of):
            piece = {k: v[shard_of == shard] for k, v in batch.items()}
            if current is not None and shard != current:
                yield current, _concat(buffer)
                buffer = []
            current = int(shard)
            buffer.append(piece)
    if current is not None:
        yield current, _concat(buffer)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _write_shard(path: Path, part: dict[str, np.ndarray], dim: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = np.asarray(np.stack(part["embedding"]) if part["embedding"].dtype == object else part["embedding"])
    flat = pa.array(vectors.astype(np.float32).reshape(-1), type=pa.float32())
    table = pa.table(
        {
            "row_id": pa.array(part["row_id"].astype(np.int64)),
            "head": pa.array([str(x) for x in part["head"]]),
            "tail": pa.array([str(x) for x in part["tail"]]),
            "embedding": pa.FixedSizeListArray.from_arrays(flat, dim),
            "error": pa.array([str(x) for x in part["error"]]),
        }
    )
    write_file(path, lambda p: pq.write_table(table, p))


# ---------------------------------------------------------------------------- reading shards back
def shard_files(output_dir: str | Path) -> list[Path]:
    return sorted(Path(output_dir).glob("part-*.parquet"))


def read_shards(output_dir: str | Path) -> tuple[list[tuple[str, str]], np.ndarray, dict[str, Any]]:
    """(pairs, unit-row float32 matrix, manifest) of every embedded row without an error, in row order.

    The matrix is allocated once and filled shard by shard (no second copy of everything)."""
    import pyarrow.parquet as pq

    manifest = read_json(Path(output_dir) / MANIFEST)
    files = shard_files(output_dir)
    if not files:
        raise FileFormatError(f"{output_dir}: no part-*.parquet shards")
    dim = int(manifest["identity"]["embedding_dim"])
    counts = [pq.ParquetFile(f).metadata.num_rows for f in files]
    matrix = np.empty((sum(counts), dim), dtype=np.float32)
    pairs: list[tuple[str, str]] = []
    keep = np.zeros(sum(counts), dtype=bool)
    start = 0
    for path, count in zip(files, counts, strict=True):
        table = pq.read_table(path)
        vectors = table.column("embedding").combine_chunks().flatten().to_numpy().reshape(count, dim)
        matrix[start : start + count] = vectors
        ok = np.asarray([not e for e in table.column("error").to_pylist()])
        keep[start : start + count] = ok
        pairs += [
            (h, t)
            for h, t, good in zip(table.column("head").to_pylist(), table.column("tail").to_pylist(), ok, strict=True)
            if good
        ]
        start += count
    matrix = matrix[keep] if not keep.all() else matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms == 0, 1.0, norms)
    return pairs, matrix, manifest


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in summary.items() if k != "errors"} | {"errors": len(summary["errors"])})
