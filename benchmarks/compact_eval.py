"""Compact relation vectors against full ones, side by side in one run: analogy accuracy and neighbour recall.

For each ``--model`` (a folder): a PCA of its own vectors of ``--fit-pairs`` training pairs (SemEval-2012 and the
lexical sets' train/valid pairs, never a test split; ``relvec reduce``), then every analogy pair of the valid and
test splits embedded once, full size, and scored as

- full float32; PCA to 256 / 128 / 64 dims;
- int8 scalar codes of the full vectors and of the 256-dim ones;
- binary (sign) codes of the full vectors, alone.

The PCA is stored in the model's folder, as ``relvec reduce`` does (``--dim 256`` then works on every command).

Neighbour search over the same pool of analogy pairs: recall@10 against exact full-size search for 500 queries,
for PCA-256, int8, binary alone, and binary with exact rescoring of its best 100.

    RELVEC_DATA=../shared/data python benchmarks/compact_eval.py --threads 2 \\
        --model runs/best-cpu/hybrid --model runs/best-cpu-static --output runs/compact_eval.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.data import load_analogy
from relvec.evaluation.suite import analogy_evaluator
from relvec.loading import load_model
from relvec.quantize import BinaryCodes, Int8Codes, search_with_rescoring
from relvec.reduce import fitting_pairs, reduce_model

from _common import machine

SETS = ("sat_full", "u2", "u4", "google", "bats")
VALID = ("sat", "u2", "u4", "google", "bats")
DIMS = (256, 128, 64)


class Table:
    """A model answering from precomputed full vectors, through a transform (what a compact index would hold)."""

    def __init__(self, vectors: dict[tuple[str, str], np.ndarray], transform: Callable[[np.ndarray], np.ndarray]):
        self.vectors, self.transform = vectors, transform
        self.name_or_path, self.precision = "table", "auto"
        self.embedding_dim = len(transform(next(iter(vectors.values()))[None])[0])

    def encode(self, pairs: Any, **_: Any) -> np.ndarray:
        return self.transform(np.stack([self.vectors[tuple(p)] for p in pairs]))


def analogy_pairs_of(names: tuple[str, ...], split: str, data_dir: str | None) -> list[tuple[str, str]]:
    pairs: dict[tuple[str, str], None] = {}
    for name in names:
        for q in load_analogy(name, split, data_dir):
            for p in (q.stem, *q.choices):
                pairs.setdefault(tuple(p), None)
    return list(pairs)


def unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def variants(reduction: Any, full_scales: np.ndarray, small_scales: np.ndarray) -> dict[str, Callable]:
    out: dict[str, Callable] = {"full float32": unit}
    for dim in DIMS:
        out[f"PCA {dim}"] = lambda x, d=dim: reduction.apply(x, d)
    out["int8 (full)"] = lambda x: unit(Int8Codes.encode(x, full_scales).decode())
    out["PCA 256 + int8"] = lambda x: unit(Int8Codes.encode(reduction.apply(x, 256), small_scales).decode())
    out["binary (full)"] = lambda x: unit(np.where(x > 0, 1.0, -1.0))
    return out


def recall(full: np.ndarray, reduction: Any, full_scales: np.ndarray, queries: int = 500) -> dict[str, float]:
    """recall@10 against exact full search (the query itself excluded) for the compact forms."""
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(full), size=min(queries, len(full)), replace=False)
    small = reduction.apply(full, 256)
    int8 = Int8Codes.encode(full, full_scales)
    binary = BinaryCodes.encode(full)
    found: dict[str, float] = {"PCA 256": 0.0, "int8 (full)": 0.0, "binary alone": 0.0, "binary + rescore 100": 0.0}
    for q in chosen:
        exact = full @ full[q]
        exact[q] = -np.inf
        truth = set(np.argsort(-exact)[:10].tolist())
        forms = {
            "PCA 256": small @ small[q],
            "int8 (full)": int8.scores(full[q]),
            "binary alone": binary.scores(full[q]),
        }
        for name, scores in forms.items():
            scores = np.asarray(scores, dtype=np.float32).copy()
            scores[q] = -np.inf
            found[name] += len(truth & set(np.argsort(-scores)[:10].tolist())) / 10
        coarse = np.asarray(binary.scores(full[q]), dtype=np.float32)
        coarse[q] = -np.inf
        rows, _ = search_with_rescoring(coarse, 10, 100, lambda r, q=q: (full[r] @ full[q]).astype(np.float32))
        found["binary + rescore 100"] += len(truth & set(rows.tolist())) / 10
    return {k: round(v / len(chosen), 3) for k, v in found.items()}


def evaluate(spec: str, args: argparse.Namespace) -> dict[str, Any]:
    model = load_model(spec)
    started = time.perf_counter()  # the reduction is stored in the model's folder, as `relvec reduce` does
    reduction = reduce_model(model, spec, 256, fitting_pairs(args.data_dir, limit=args.fit_pairs))
    fit_s = time.perf_counter() - started
    pairs = list(
        dict.fromkeys(analogy_pairs_of(VALID, "valid", args.data_dir) + analogy_pairs_of(SETS, "test", args.data_dir))
    )
    full = unit(np.asarray(model.encode(pairs, show_progress_bar=False), dtype=np.float32))
    vectors = dict(zip(pairs, full, strict=True))
    full_scales = np.maximum(np.abs(full).max(axis=0), 1e-12) / 127.0  # in practice: fitted on the stored vectors
    small = reduction.apply(full, 256)
    small_scales = np.maximum(np.abs(small).max(axis=0), 1e-12) / 127.0
    rows: dict[str, Any] = {}
    for label, transform in variants(reduction, full_scales, small_scales).items():
        table = Table(vectors, transform)
        row = {}
        for split, names in (("valid", VALID), ("test", SETS)):
            scores = [100 * analogy_evaluator(n, split, args.data_dir, None)(table)["accuracy"] for n in names]
            row[split] = {n: round(s, 1) for n, s in zip(names, scores, strict=True)} | {
                "mean": round(float(np.mean(scores)), 1)
            }
        rows[label] = row
        print(f"{spec} | {label} | " + " | ".join(f"{row['test'][n]}" for n in SETS), flush=True)
    return {
        "dim": int(full.shape[1]),
        "fit_pairs": args.fit_pairs,
        "fit_seconds": round(fit_s, 1),
        "variance_kept": {d: round(sum(reduction.explained[:d]), 3) for d in DIMS},
        "analogy": rows,
        "recall@10": recall(full, reduction, full_scales),
        "pool": len(pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="model folders; repeat")
    parser.add_argument("--fit-pairs", type=int, default=5000, help="training pairs the PCA is fitted on")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result: dict[str, Any] = {"machine": machine(), "models": {}}
    for spec in args.model:
        result["models"][spec] = evaluate(spec, args)
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
