"""Vocabulary-scale mining on Ray (issue 35): exactness against one process, 1 vs 2 actors, and the neighbour lists.

1. ``--check-vocab`` words: ``mine_pairs`` in this process and ``mine_on_ray`` with 2 actors must return the same
   top k (pairs and order).
2. ``--vocab`` words with 1 actor, then 2 actors (local Ray, ``num_cpus=2``): wall time and pairs/s each; the time
   for 30,000 and 100,000 words is extrapolated from the measured throughput (N² ordered pairs; a cluster of W
   actors: the per-actor rate of the fewest actors timed (``--actors``) × W, as blocks share nothing).
3. The neighbour lists for one seed set ("more pairs like these") at ``--vocab`` words.

    RELVEC_DATA=../shared/data python benchmarks/mine_ray_scale.py --model runs/mq-h256 --vocab 10000 \\
        --output runs/mine_ray_scale.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import ray
import torch

from relvec.completion import default_vocabulary
from relvec.loading import load_model
from relvec.mining import mine_pairs
from relvec.mining_ray import mine_on_ray

from _common import machine

SEEDS = [("barista", "coffee"), ("baker", "bread"), ("brewer", "beer")]


def timed_ray(model: str, words: list[str], workers: int, k: int, cap: int | None) -> tuple[list, float]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        found = mine_on_ray(model, words, SEEDS, Path(tmp) / "shards", k=k, workers=workers, max_per_head=cap)
        return found, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a static relation model")
    parser.add_argument("--vocab", type=int, default=10_000)
    parser.add_argument("--check-vocab", type=int, default=3_000)
    parser.add_argument("--actors", default="1,2", help="comma list of actor counts to time at --vocab words")
    parser.add_argument("-k", type=int, default=20)
    parser.add_argument("--max-per-head", type=int, default=None, help="at most this many pairs of a head word")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    report: dict = {"machine": machine(), "model": args.model, "seeds": [":".join(s) for s in SEEDS]}
    report["max_per_head"] = args.max_per_head
    small = default_vocabulary(args.check_vocab)
    local = mine_pairs(load_model(args.model), small, SEEDS, k=args.k, max_per_head=args.max_per_head)
    on_ray, _ = timed_ray(args.model, small, 2, args.k, args.max_per_head)
    report["check"] = {"words": len(small), "identical": [m.pair for m in local] == [m.pair for m in on_ray]}
    words = default_vocabulary(args.vocab)
    pairs = len(words) * (len(words) - 1)
    report["runs"] = {}
    counts = sorted(int(x) for x in args.actors.split(","))
    for workers in counts:
        found, seconds = timed_ray(args.model, words, workers, args.k, args.max_per_head)
        report["runs"][workers] = {"seconds": round(seconds, 1), "pairs_per_s": round(pairs / seconds)}
        print(json.dumps({workers: report["runs"][workers]}), flush=True)
    one = report["runs"][counts[0]]["pairs_per_s"] / counts[0]  # per actor, from the fewest actors timed
    report["extrapolated_hours"] = {
        f"{n} words, {w} actors": round(n * (n - 1) / (one * w) / 3600, 2) for n in (30_000, 100_000) for w in (2, 16)
    }
    report["top"] = [f"{m.pair[0]}:{m.pair[1]} {m.score:.3f}" for m in found]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
