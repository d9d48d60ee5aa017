"""``relvec neighbours build|query``: nearest-neighbour relation search."""

from __future__ import annotations

import argparse
import sys

from relvec.cli.common import (
    json_line,
    load_model_from_args,
    model_args,
    model_kwargs,
    parse_pair_argument,
    progress,
    read_pairs_file,
    vocabulary_args,
    vocabulary_from_args,
)
from relvec.code_index import index_from_shards, open_index
from relvec.loading import load_named_model
from relvec.options import DATA_SOURCES, DEFAULT_INDEX_BACKEND, INDEX_BACKENDS
from relvec.search import RelationIndex, labelled_dataset_pairs
from relvec.validation import split_list


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("neighbours", help="nearest-neighbour relation search")
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", parents=[common], help="embed pairs and save an index")
    model_args(build)
    build.add_argument("--input", help="TSV or JSONL file of pairs (as for `relvec embed`)")
    build.add_argument(
        "--from-data", default=None, help=f"comma list of {', '.join(DATA_SOURCES)}: every pair of those data sets"
    )
    build.add_argument(
        "--from-shards", default=None, help="Parquet shards of `relvec embed --engine ray` (no encoding)"
    )
    build.add_argument(
        "--backend",
        default=DEFAULT_INDEX_BACKEND,
        choices=list(INDEX_BACKENDS),
        help="index backend; auto: exact < 50k pairs, HNSW < 1M, IVF-Flat above; faiss-hnsw-sq8 (int8 codes) and "
        "faiss-ivfpq (product-quantised codes) rescore their shortlist exactly",
    )
    build.add_argument("--output", required=True, help="index folder")
    build.add_argument(
        "--lists", type=int, default=None, help="--from-shards, faiss-ivf-sq8: coarse lists (default 2·√pairs)"
    )
    build.add_argument(
        "--nprobe", type=int, default=None, help="--from-shards, faiss-ivf-sq8: lists searched per query (default 32)"
    )
    build.add_argument(
        "--ef-search",
        type=int,
        default=None,
        help="--from-shards, faiss-hnsw-sq8 (auto above 2 GiB of vectors): graph search breadth (default 128)",
    )

    query = actions.add_parser("query", parents=[common], help="the k most similar indexed pairs")
    model_args(query, batch_size=False)
    query.set_defaults(model=None)
    query.add_argument("pairs", nargs="+", help="query pairs as head:tail")
    query.add_argument("--index", required=True, help="index folder")
    query.add_argument("-k", type=int, default=10)
    query.add_argument("--backend", default=None, choices=list(INDEX_BACKENDS), help="override the saved index backend")
    query.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    mine = actions.add_parser(
        "mine", parents=[common], help="the pairs of a vocabulary that relate most like a seed (exact, every pair)"
    )
    model_args(mine, batch_size=False)
    mine.add_argument("seed", nargs="+", help="seed pairs, head:tail; several mean 'more pairs like these'")
    mine.add_argument("--negative", action="append", default=[], help="a pair the relation is not (repeatable)")
    mine.add_argument(
        "--negative-weight", type=float, default=0.5, help="how far the negatives push the query away from them"
    )
    vocabulary_args(mine, 10_000)
    mine.add_argument("-k", type=int, default=20, help="pairs to return")
    mine.add_argument(
        "--max-per-head", type=int, default=None, help="at most this many pairs of any one head word (hubs)"
    )
    mine.add_argument("--engine", default="local", choices=["local", "ray"], help="ray: blocks of heads on Ray actors")
    mine.add_argument("--address", default=None, help="--engine ray: a cluster ('auto': a running one; default: local)")
    mine.add_argument("--workers", type=int, default=2, help="--engine ray: actors (one CPU each)")
    mine.add_argument("--block-heads", type=int, default=256, help="--engine ray: heads per block (one shard each)")
    mine.add_argument("--output", default=None, help="--engine ray: folder of block shards (resumable)")
    mine.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=cmd_neighbours)


def cmd_mine(args: argparse.Namespace) -> int:
    from relvec.mining import mine_pairs

    seeds = [parse_pair_argument(s) for s in args.seed]
    negatives = [parse_pair_argument(s) for s in args.negative]
    vocabulary = vocabulary_from_args(args)
    model = load_model_from_args(args)
    # the model's precision (auto: a bf16 pass, then its shortlist exactly)
    if args.engine == "ray":
        found = _mine_on_ray(args, vocabulary, seeds, negatives)
    else:
        found = mine_pairs(
            model,
            vocabulary,
            seeds,
            k=args.k,
            negatives=negatives,
            negative_weight=args.negative_weight,
            max_per_head=args.max_per_head,
        )
    if args.json:
        rows = [{"pair": list(m.pair), "score": round(m.score, 4)} for m in found]
        print(json_line({"seeds": [list(s) for s in seeds], "negatives": [list(n) for n in negatives], "pairs": rows}))
        return 0
    shown = " ".join(f"{a}:{b}" for a, b in seeds) + "".join(f" -{a}:{b}" for a, b in negatives)
    print(f"{shown} among {len(vocabulary)}² ordered pairs")
    for rank, m in enumerate(found, start=1):
        print(f"  {rank:>2}. {m.pair[0]}:{m.pair[1]}  {m.score:.3f}")
    return 0


def _mine_on_ray(args: argparse.Namespace, vocabulary: list[str], seeds: list, negatives: list) -> list:
    from relvec.bulk import require_ray
    from relvec.mining_ray import mine_on_ray

    if not args.output:
        raise ValueError("--engine ray writes a shard per block: pass --output DIR")
    ray = require_ray()
    if args.address:
        ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    try:
        return mine_on_ray(
            args.model,
            vocabulary,
            seeds,
            args.output,
            k=args.k,
            block_heads=args.block_heads,
            workers=args.workers,
            negatives=negatives,
            negative_weight=args.negative_weight,
            precision=args.precision,
            max_per_head=args.max_per_head,
            on_block=lambda i, n: print(f"block {i}/{n}", file=sys.stderr, flush=True) if progress() else None,
        )
    finally:
        ray.shutdown()


def check_code_flags(args: argparse.Namespace) -> None:
    """--lists/--nprobe (faiss-ivf-sq8) and --ef-search (faiss-hnsw-sq8, auto) shape an index of codes built
    --from-shards; anywhere else they would do nothing, so they are refused."""
    if not args.from_shards:
        raise ValueError("--lists/--nprobe/--ef-search set an index of codes built --from-shards")
    ivf = args.backend == "faiss-ivf-sq8"
    if ivf and args.ef_search is not None:
        raise ValueError("--ef-search sets faiss-hnsw-sq8; faiss-ivf-sq8 takes --nprobe")
    if not ivf and (args.lists is not None or args.nprobe is not None):
        raise ValueError(f"--lists/--nprobe set faiss-ivf-sq8; --backend {args.backend} does not take them")


def cmd_neighbours(args: argparse.Namespace) -> int:
    if args.action == "mine":
        return cmd_mine(args)
    if args.action == "build" and (args.lists, args.nprobe, args.ef_search) != (None, None, None):
        check_code_flags(args)
    if args.action == "build" and args.from_shards:
        if args.input or args.from_data:
            raise ValueError("--from-shards takes its pairs from the shards: no --input or --from-data")
        effort = args.nprobe if args.backend == "faiss-ivf-sq8" else args.ef_search
        index = index_from_shards(args.from_shards, args.backend, args.lists, effort)
        index.save(args.output)
        print(f"indexed {len(index)} pairs ({index.backend}) in {args.output}", file=sys.stderr)
        return 0
    if args.action == "build":
        pairs: list[tuple[str, str]] = read_pairs_file(args.input) if args.input else []
        labels = ["-"] * len(pairs)  # the data sets' pairs carry their relation (the explorer colours by it)
        if args.from_data:
            found = labelled_dataset_pairs(args.data_dir, split_list(args.from_data))
            pairs += list(found)
            labels += list(found.values())
        if not pairs:
            raise ValueError("nothing to index: pass --input FILE and/or --from-data analogy,lexical,semeval")
        model = load_model_from_args(args)
        kept = labels if args.from_data else None
        index = RelationIndex.build(
            model, pairs, args.backend, args.batch_size, show_progress_bar=progress(), labels=kept
        )
        index.save(args.output)
        print(f"indexed {len(index)} pairs in {args.output}", file=sys.stderr)
        return 0
    queries = [parse_pair_argument(p) for p in args.pairs]
    index = open_index(args.index, backend=args.backend)
    if args.model:
        model = load_model_from_args(args)
    else:  # the model the index names, from this machine only
        model = load_named_model(index.identity, args.index, **model_kwargs(args))
    results = index.query(model, queries, k=args.k)
    for query, found in zip(queries, results, strict=True):
        if args.json:
            rows = [{"head": n.pair[0], "tail": n.pair[1], "score": round(n.score, 4)} for n in found]
            print(json_line({"query": list(query), "neighbours": rows}))
            continue
        print(f"{query[0]}:{query[1]}")
        for rank, n in enumerate(found, start=1):
            print(f"  {rank:>2}. {n.pair[0]}:{n.pair[1]}  {n.score:.3f}")
    return 0
