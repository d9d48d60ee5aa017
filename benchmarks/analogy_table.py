"""Analogy accuracy of several models in one run, as a Markdown table (the tables of RESULTS.md).

Hybrid folders share their parts' embeddings with the other models in the run: a trained model, its
hybrid and the offset baseline embed each pair once. ``--split valid`` for choosing, ``test`` to report.

    RELVEC_DATA=../shared/data python benchmarks/analogy_table.py --threads 2 --split test \\
        --model offset:encoder:mpnet --model runs/best-cpu --model runs/best-cpu/hybrid
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from relvec.encoders.hybrid import HybridEncoder
from relvec.evaluation.suite import analogy_evaluator
from relvec.loading import load_model
from relvec.validation import split_list

from _common import machine, parse_with_common, shared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="any load_model spec; repeat")
    parser.add_argument("--datasets", default="sat_full,u2,u4,google,bats")
    parser.add_argument("--split", default="valid", choices=("valid", "test"))
    args = parse_with_common(parser)
    names = split_list(args.datasets)
    evaluators = [analogy_evaluator(n, args.split, args.data_dir, None) for n in names]
    models = shared({spec: load_model(spec) for spec in args.model})
    rows = {}
    print("| model | " + " | ".join(names) + " | mean |\n|---|" + "---:|" * (len(names) + 1), flush=True)
    for spec, model in models.items():
        started = time.perf_counter()
        scores = {e.name: 100 * float(e(model)["accuracy"]) for e in evaluators}
        mean = float(np.mean(list(scores.values())))
        rows[spec] = {**scores, "mean": mean, "seconds": time.perf_counter() - started}
        weight = f" (w {model.weight:g})" if isinstance(model, HybridEncoder) else ""
        cells = " | ".join(f"{v:.1f}" for v in scores.values())
        print(f"| {spec}{weight} | {cells} | {mean:.1f} |", flush=True)
    if args.output:
        result = {"split": args.split, "machine": machine(), "rows": rows}
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
