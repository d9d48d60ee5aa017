"""Exhaustive completion speed: ms per A:B::C:? query over a vocabulary with a static relation model, fp32 vs the
bf16 pass + exact shortlist, side by side (same queries, alternating), with the answers compared.

    python benchmarks/completion_speed.py --threads 2 --model runs/best-cpu-static --vocab-size 100000
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from relvec.completion import AnalogyCompleter, default_vocabulary
from relvec.loading import load_model

from _common import machine

QUERIES = [
    (("paris", "france"), "tokyo"),
    (("man", "woman"), "king"),
    (("big", "bigger"), "small"),
    (("dog", "dogs"), "cat"),
    (("walk", "walked"), "run"),
    (("good", "better"), "bad"),
    (("athens", "greece"), "oslo"),
    (("puppy", "dog"), "kitten"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    vocabulary = default_vocabulary(args.vocab_size)
    completers = {
        p: AnalogyCompleter(model, vocabulary, exhaustive=True, precision=p, show_progress_bar=False)
        for p in ("fp32", "bf16")
    }
    answers: dict[str, list[list[str]]] = {}
    times: dict[str, list[float]] = {p: [] for p in completers}
    for completer in completers.values():
        completer.complete(*QUERIES[0], k=10)  # row lookup and tables, once
    for _ in range(args.rounds):
        for p, completer in completers.items():
            for pair, c in QUERIES:
                start = time.perf_counter()
                found = completer.complete(pair, c, k=10)
                times[p].append(time.perf_counter() - start)
                answers.setdefault(p, []).append([x.word for x in found])
    report = {
        "machine": machine(),
        "model": args.model,
        "vocabulary": len(vocabulary),
        "ms_per_query": {p: round(1000 * statistics.median(t), 1) for p, t in times.items()},
        "same_top10": answers["fp32"] == answers["bf16"],
        "examples": {f"{a}:{b}::{c}": answers["fp32"][i][:3] for i, ((a, b), c) in enumerate(QUERIES)},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
