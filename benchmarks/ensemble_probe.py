"""Probe: an ensemble of independently trained prompt models, as the prompt part of the hybrid.

Each model's bidirectional unit embedding is joined, [p̂₁ ; … ; p̂ₖ] / √k, so the cosine of two pairs is the
mean of the models' cosines; this joined vector then takes the place of the prompt part in the hybrid with the
given offsets. The weight is chosen on the analogy *valid* splits (as ``relvec hybrid`` does), then the test
splits are read once. Cost at inference: k prompt encodings per pair.

    RELVEC_DATA=../shared/data python benchmarks/ensemble_probe.py --threads 2 \\
        --model runs/exp/e10mask --model runs/best-cpu --vectors encoder:mpnet --output runs/ensemble.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from relvec.data import ANALOGY_VALID_SETS
from relvec.encoders.hybrid import HybridEncoder
from relvec.encoders.offset import OffsetEncoder
from relvec.evaluation.cache import EmbeddingCache
from relvec.evaluation.suite import analogy_evaluator
from relvec.loading import load_model
from relvec.recipes import DEFAULT_WEIGHTS, parse_weights, select_weight

from _common import machine, parse_with_common


class JoinedEncoder:
    """[ê₁ ; … ; êₖ] / √k of several pair encoders' unit embeddings."""

    def __init__(self, models: list[Any]) -> None:
        self.models = models
        self.name_or_path = "+".join(str(getattr(m, "name_or_path", "")) for m in models)
        self.embedding_dim = sum(int(m.embedding_dim) for m in models)

    def encode(self, pairs: Any, batch_size: int = 64, normalize: bool = False, **kw: Any) -> np.ndarray:
        parts = [np.asarray(m.encode(pairs, batch_size=batch_size, normalize=True, **kw)) for m in self.models]
        return np.hstack(parts).astype(np.float32) / np.float32(math.sqrt(len(parts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="a trained prompt model; repeat")
    parser.add_argument("--vectors", default="encoder:mpnet", help="the offsets' word vectors")
    args = parse_with_common(parser)
    prompt = EmbeddingCache(JoinedEncoder([load_model(m) for m in args.model]), show_progress_bar=False)
    static = EmbeddingCache(OffsetEncoder.from_pretrained(args.vectors))
    valid = [analogy_evaluator(n, "valid", args.data_dir, None) for n in ANALOGY_VALID_SETS]
    weight, rows = select_weight(prompt, static, parse_weights(DEFAULT_WEIGHTS), valid, bidirectional=True)
    test = [analogy_evaluator(n, "test", args.data_dir, None) for n in ("sat_full", "u2", "u4", "google", "bats")]
    result: dict[str, Any] = {"machine": machine(), "models": args.model, "weight": weight, "valid": rows}
    for label, w in (("prompt part", 0.0), ("hybrid", weight)):
        model = HybridEncoder(prompt, static, w, bidirectional=True)
        result[label] = {e.name: 100 * float(e(model)["accuracy"]) for e in test}
        print(label, f"w {w:g}", {k: round(v, 1) for k, v in result[label].items()}, flush=True)
    best = next(r for r in rows if r["weight"] == weight)
    print(f"valid mean at w {weight:g}: {100 * best['mean']:.1f}", flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
