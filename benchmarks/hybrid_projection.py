"""The learned hybrid (a projection of [prompt ; offset] trained with NCE on frozen parts) against the plain
hybrid it starts from (RESULTS.md, "Learned hybrid").

Every setting is fitted on the SemEval train relations and keeps its best step on the SemEval valid questions
(``relvec.training.hybrid_projection``); settings are compared on the analogy valid splits (u2, u4, google,
bats: the hybrid weight's own selection data), and only the plain hybrid and the best setting are read on test.

    RELVEC_DATA=../shared/data python benchmarks/hybrid_projection.py --threads 2 --hybrid runs/best-cpu/hybrid \\
        --output runs/hybrid_projection.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.data import load_relation_similarity
from relvec.encoders.hybrid import HybridEncoder
from relvec.evaluation.cache import EmbeddingCache
from relvec.evaluation.suite import analogy_evaluator

from _common import machine
from _projection import ProjectionArguments, fit_projection

VALID = ("u2", "u4", "google", "bats")
TEST = ("sat_full", "u2", "u4", "google", "bats")
SETTINGS = [
    {"learning_rate": 1e-3, "l2": 1e-3},
    {"learning_rate": 1e-3, "l2": 1e-2},
    {"learning_rate": 3e-4, "l2": 1e-3},
    {"learning_rate": 1e-3, "l2": 0.0},
]


def scores(model: Any, names: tuple[str, ...], split: str) -> dict[str, float]:
    return {n: round(100 * analogy_evaluator(n, split, None, None)(model)["accuracy"], 1) for n in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hybrid", default="runs/best-cpu/hybrid")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = HybridEncoder.from_pretrained(args.hybrid)
    plain = HybridEncoder(
        EmbeddingCache(loaded.prompt), EmbeddingCache(loaded.offset), loaded.weight, bidirectional=loaded.bidirectional
    )
    train = load_relation_similarity("semeval2012", "train")
    valid = load_relation_similarity("semeval2012", "valid")
    result: dict[str, Any] = {"machine": machine(), "hybrid": args.hybrid, "weight": loaded.weight, "rows": []}
    result["plain_valid"] = scores(plain, VALID, "valid")
    print("plain", result["plain_valid"], flush=True)
    best: tuple[float, Any, dict[str, Any]] | None = None
    for setting in SETTINGS:
        started = time.perf_counter()
        matrix, info = fit_projection(plain, train, valid, ProjectionArguments(steps=args.steps, **setting))
        model = HybridEncoder(plain.prompt, plain.offset, plain.weight, bidirectional=plain.bidirectional)
        model.set_projection(matrix)
        row = {**setting, "fit_s": round(time.perf_counter() - started, 1), "best_step": info["best_step"]}
        row["semeval_valid"] = round(100 * info["valid_accuracy"], 1)
        row["semeval_valid_identity"] = round(100 * info["history"][0]["valid_accuracy"], 1)
        row["analogy_valid"] = scores(model, VALID, "valid")
        mean = float(np.mean(list(row["analogy_valid"].values())))
        row["analogy_valid_mean"] = round(mean, 2)
        result["rows"].append(row)
        print(row, flush=True)
        if best is None or mean > best[0]:
            best = (mean, model, row)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    assert best is not None
    plain_mean = float(np.mean(list(result["plain_valid"].values())))
    result["chosen"] = best[2] if best[0] > plain_mean else "plain"
    result["test"] = {"plain": scores(plain, TEST, "test")}
    if best[0] > plain_mean:
        result["test"]["learned"] = scores(best[1], TEST, "test")
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["test"], indent=2))


if __name__ == "__main__":
    main()
