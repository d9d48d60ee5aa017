"""Time ``evaluate_all`` (what ``relvec eval all`` runs) on the full suite and count the encoder work.

Reports wall time per evaluator, the pairs actually embedded against the pairs the evaluators asked
for, and what a grid search that re-embedded its features for every configuration would have cost
(9 configurations × the distinct ordered pairs of each classification set).

    RELVEC_DATA=../shared/data python benchmarks/eval_all.py --threads 2 --model minilm --output eval_minilm.json
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from relvec.data import LEXICAL_DATASETS, lexical_relation_path, load_lexical_relation
from relvec.evaluation import evaluate_all, render_markdown
from relvec.evaluation.classification import DEFAULT_GRID
from relvec.loading import load_model

from _common import machine


def naive_grid_pairs(data_dir: str | None) -> int:
    """Ordered pairs a per-configuration re-embedding grid search would encode."""
    configs = len(DEFAULT_GRID["learning_rate_init"]) * len(DEFAULT_GRID["hidden_layer_sizes"])
    total = 0
    for name in LEXICAL_DATASETS:
        pairs: set[tuple[str, str]] = set()
        for split in ("train", "valid", "test"):
            if lexical_relation_path(name, split, data_dir) is not None:
                for e in load_lexical_relation(name, split, data_dir):
                    pairs |= {(e.head, e.tail), (e.tail, e.head)}
        has_valid = lexical_relation_path(name, "valid", data_dir) is not None
        total += len(pairs) * (configs if has_valid else 1)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-items", type=int, default=None, help="subset per set (quick check)")
    parser.add_argument("--output", default="eval_all_benchmark.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model)
    start = time.perf_counter()
    results = evaluate_all(model, data_dir=args.data_dir, max_items=args.max_items, show_progress_bar=False)
    total = time.perf_counter() - start
    results["model"] = args.model
    timing = results["timing_s"]
    summary = {
        "machine": machine(),
        "model": args.model,
        "total_s": round(total, 1),
        "by_task_s": {
            task: round(sum(v for k, v in timing.items() if k.startswith(task + "/")), 1)
            for task in ("analogy", "lexical_relation", "relation_mapping")
        },
        "pairs_embedded": results["pairs_embedded"],
        "pairs_requested": results["pairs_requested"],
        "naive_grid_pairs": None if args.max_items else naive_grid_pairs(args.data_dir),
    }
    results["benchmark"] = summary
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, ensure_ascii=False)
    print(render_markdown([results]))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
