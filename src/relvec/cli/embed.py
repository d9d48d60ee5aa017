"""``relvec embed``: pair embeddings as .npy, JSONL, CSV/TSV or Parquet (pairs beside the vectors)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from relvec.cli.common import (
    load_model_from_args,
    model_args,
    parse_pair_argument,
    progress,
    read_pairs_file,
)
from relvec.encoders.base import validate_pairs
from relvec.files import write_file, write_text

OUTPUT_FORMATS = (".npy", ".jsonl", ".csv", ".tsv", ".parquet")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    embed = sub.add_parser("embed", parents=[common], help="embed word pairs")
    model_args(embed)
    embed.add_argument("pairs", nargs="*", help="pairs as head:tail")
    embed.add_argument("--input", help="TSV (head<TAB>tail) or JSONL ({head, tail} or [head, tail]) file")
    embed.add_argument(
        "--output",
        help=".npy (vectors), .jsonl (also with no extension), .csv, .tsv or .parquet (pairs beside the vectors) "
        "(default: JSONL on stdout)",
    )
    embed.add_argument("--normalize", action="store_true", help="L2-normalise the vectors")
    ray = embed.add_argument_group("--engine ray: bulk embedding into resumable Parquet shards (relvec[ray])")
    ray.add_argument("--engine", default="local", choices=["local", "ray"])
    ray.add_argument("--address", default=None, help="Ray cluster address ('auto': a running cluster; default: local)")
    ray.add_argument("--workers", type=int, default=2, help="Ray actors, one model copy each")
    ray.add_argument("--worker-threads", type=int, default=1, help="CPUs and torch threads per actor")
    ray.add_argument("--shard-size", type=int, default=100_000, help="rows per output shard")
    embed.set_defaults(handler=cmd_embed)


def cmd_embed_ray(args: argparse.Namespace) -> int:
    if not args.input or not args.output or args.pairs:
        raise ValueError(
            "--engine ray takes --input FILE (.parquet, .jsonl or .tsv) and --output DIR, no pair arguments"
        )
    if args.template or args.pooling:
        raise ValueError("--engine ray embeds with the model as saved: --template/--pooling are not taken")
    if args.runtime != "torch":
        raise ValueError("--engine ray runs the torch model: --runtime is not taken")
    from relvec.bulk import embed_to_shards, require_ray, summary_json

    ray = require_ray()
    if not ray.is_initialized():
        ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    summary = embed_to_shards(  # Ray batches of 4 forward passes each
        args.input,
        args.output,
        args.model,
        args.workers,
        4 * args.batch_size,
        args.shard_size,
        args.worker_threads,
        precision=args.precision,
        dim=args.dim,
    )
    for error in summary["errors"][:20]:
        print(f"relvec: skipped {error}", file=sys.stderr)
    print(summary_json(summary))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return cmd_embed_ray(args)
    suffix = (Path(args.output).suffix.lower() if args.output else "") or ".jsonl"
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(
            f"--output {args.output}: unknown extension {suffix or '(none)'}; use {', '.join(OUTPUT_FORMATS)}"
        )
    pairs = [parse_pair_argument(p) for p in args.pairs]
    if args.input:
        pairs += read_pairs_file(args.input)
    if not pairs:
        raise ValueError("no pairs given: pass head:tail arguments or --input FILE")
    pairs, _ = validate_pairs(pairs)  # fail before loading the model
    model = load_model_from_args(args)
    vectors = model.encode(
        pairs,
        batch_size=args.batch_size,
        normalize=args.normalize,
        precision=args.precision,
        show_progress_bar=None if progress() else False,
    )
    if not args.output:
        for line in _json_lines(pairs, vectors):
            print(line)
        return 0
    WRITERS[suffix](args.output, pairs, vectors)
    print(f"wrote {len(pairs)} vectors of dimension {vectors.shape[1]} to {args.output}", file=sys.stderr)
    return 0


def _json_lines(pairs: list[tuple[str, str]], vectors: Any) -> list[str]:
    return [
        json.dumps({"head": h, "tail": t, "vector": [round(float(x), 7) for x in v]}, ensure_ascii=False)
        for (h, t), v in zip(pairs, vectors, strict=True)
    ]


def _write_npy(path: str, pairs: list[tuple[str, str]], vectors: Any) -> None:
    import numpy as np

    write_file(path, lambda p: np.save(p, vectors, allow_pickle=False))


def _write_jsonl(path: str, pairs: list[tuple[str, str]], vectors: Any) -> None:
    write_text(path, "".join(line + "\n" for line in _json_lines(pairs, vectors)))


def _write_delimited(path: str, pairs: list[tuple[str, str]], vectors: Any) -> None:
    """CSV or TSV: head, tail, then one column per dimension (d0, d1, …), with a header row."""
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["head", "tail", *(f"d{i}" for i in range(vectors.shape[1]))])
    for (head, tail), vector in zip(pairs, vectors, strict=True):
        writer.writerow([head, tail, *(repr(float(x)) for x in vector)])
    write_text(path, buffer.getvalue())


def _write_parquet(path: str, pairs: list[tuple[str, str]], vectors: Any) -> None:
    """Parquet: ``head``, ``tail`` and ``vector`` (a fixed-size list of float32) columns."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError("--output .parquet needs pyarrow: pip install relvec[ray]") from exc
    flat = pa.array(vectors.astype("float32").reshape(-1))
    table = pa.table(
        {
            "head": [h for h, _ in pairs],
            "tail": [t for _, t in pairs],
            "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
        }
    )
    write_file(path, lambda p: pq.write_table(table, str(p)))


WRITERS = {
    ".npy": _write_npy,
    ".jsonl": _write_jsonl,
    ".csv": _write_delimited,
    ".tsv": _write_delimited,
    ".parquet": _write_parquet,
}
