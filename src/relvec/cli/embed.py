"""``relvec embed``: pair embeddings as .npy or JSONL."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from relvec.bulk import embed_to_shards, require_ray, summary_json
from relvec.cli.common import (
    load_model_from_args,
    model_args,
    parse_pair_argument,
    progress,
    read_pairs_file,
)
from relvec.encoders.base import validate_pairs
from relvec.files import write_file, write_text


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    embed = sub.add_parser("embed", parents=[common], help="embed word pairs")
    model_args(embed)
    embed.add_argument("pairs", nargs="*", help="pairs as head:tail")
    embed.add_argument("--input", help="TSV (head<TAB>tail) or JSONL ({head, tail} or [head, tail]) file")
    embed.add_argument("--output", help=".npy or .jsonl (default: JSONL on stdout)")
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
    ray = require_ray()
    if not ray.is_initialized():
        ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    summary = embed_to_shards(  # Ray batches of 4 forward passes each
        args.input, args.output, args.model, args.workers, 4 * args.batch_size, args.shard_size, args.worker_threads
    )
    for error in summary["errors"][:20]:
        print(f"relvec: skipped {error}", file=sys.stderr)
    print(summary_json(summary))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return cmd_embed_ray(args)
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
    if args.output and args.output.endswith(".npy"):
        write_file(args.output, lambda p: np.save(p, vectors, allow_pickle=False))
    else:
        lines = (
            json.dumps({"head": h, "tail": t, "vector": [round(float(x), 7) for x in v]}, ensure_ascii=False)
            for (h, t), v in zip(pairs, vectors, strict=True)
        )
        if args.output:
            write_text(args.output, "".join(line + "\n" for line in lines))
        else:
            for line in lines:
                print(line)
    if args.output:
        print(f"wrote {len(pairs)} vectors of dimension {vectors.shape[1]} to {args.output}", file=sys.stderr)
    return 0
