"""The classification grid in PyTorch (every configuration at once) against scikit-learn's MLPClassifier
(one configuration after another), on the same cached features: F1 and wall time per set, side by side.

Features are computed once per set (the encoder's time is reported apart); each classifier then runs the
paper's 3 × 3 grid, selects on valid micro-F1 and reports test F1.

    RELVEC_DATA=../shared/data python benchmarks/classification_grid.py --threads 2 --model minilm \
        --output runs/classification_grid_minilm.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.data import LEXICAL_DATASETS
from relvec.evaluation import LexicalRelationEvaluator
from relvec.evaluation.cache import EmbeddingCache
from relvec.files import write_file, write_json
from relvec.loading import load_model
from relvec.precision import cpu_has_fast_bf16

from _common import machine


def run(
    model_spec: str, datasets: list[str], classifiers: list[str], stopping: str, cache: Path | None
) -> dict[str, Any]:
    model = EmbeddingCache(load_model(model_spec), batch_size=64, show_progress_bar=False)
    rows: dict[str, Any] = {}
    for name in datasets:
        start = time.perf_counter()
        evaluator = LexicalRelationEvaluator.from_dataset(name, show_progress_bar=False, stopping=stopping)
        stored = cache / f"{model_spec.replace('/', '_')}-{name}.npz" if cache else None
        if stored is not None and stored.is_file():
            with np.load(stored) as data:
                features = {k: data[k] for k in data.files}
        else:
            features = evaluator.features(model)
            if stored is not None:
                write_file(stored, lambda path, arrays=features: np.savez(path, **arrays))
        row: dict[str, Any] = {"features_s": round(time.perf_counter() - start, 2), "dim": features["train"].shape[1]}
        for classifier in classifiers:
            evaluator.classifier = classifier
            start = time.perf_counter()
            result = evaluator.evaluate_features(features)
            row[classifier] = {
                "seconds": round(time.perf_counter() - start, 2),
                "f1_macro": result["f1_macro"],
                "f1_micro": result["f1_micro"],
                "selected": result["selected"],
                "grid": result["grid"],
            }
            print(
                f"{name:<10} {classifier:<8} {row[classifier]['seconds']:>8.1f} s  macro {100 * result['f1_macro']:.1f}"
                f"  micro {100 * result['f1_micro']:.1f}  selected {result['selected']}",
                flush=True,
            )
        rows[name] = row
    return rows


def table(rows: dict[str, Any], classifiers: list[str]) -> str:
    head = "| set | dim |" + "".join(f" {c} macro / micro | {c} s |" for c in classifiers)
    if len(classifiers) == 2:
        head += " Δ macro / Δ micro | speed-up |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    total = dict.fromkeys(classifiers, 0.0)
    for name, row in rows.items():
        cells = f"| {name} | {row['dim']} |"
        for c in classifiers:
            r = row[c]
            total[c] += r["seconds"]
            cells += f" {100 * r['f1_macro']:.1f} / {100 * r['f1_micro']:.1f} | {r['seconds']:.1f} |"
        if len(classifiers) == 2:
            a, b = (row[c] for c in classifiers)
            cells += f" {100 * (a['f1_macro'] - b['f1_macro']):+.1f} / {100 * (a['f1_micro'] - b['f1_micro']):+.1f} |"
            cells += f" {b['seconds'] / max(a['seconds'], 1e-9):.1f}× |"
        lines.append(cells)
    lines.append("| total | |" + "".join(f" | {total[c]:.1f} |" for c in classifiers))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--datasets", default=",".join(LEXICAL_DATASETS))
    parser.add_argument(
        "--classifiers", default="torch,sklearn", help="comma list; the first is compared to the second"
    )
    parser.add_argument("--stopping", default="valid", choices=["valid", "loss"], help="torch grid stopping rule")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", default=None, help="JSON file for every figure")
    parser.add_argument("--features-cache", default=None, help="folder to keep each set's features in (.npz)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    classifiers = [c.strip() for c in args.classifiers.split(",") if c.strip()]
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    print(f"machine: {machine()}; native bf16: {cpu_has_fast_bf16()}", flush=True)
    cache = Path(args.features_cache) if args.features_cache else None
    rows = run(args.model, datasets, classifiers, args.stopping, cache)
    print(table(rows, classifiers))
    if args.output:
        write_json(args.output, {"machine": machine(), "model": args.model, "stopping": args.stopping, "sets": rows})


if __name__ == "__main__":
    main()
