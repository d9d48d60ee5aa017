"""Probe, valid splits only: two inference-side changes to a trained prompt model, with no retraining.

1. Template ensembles: the model read through each manual template (a–e), then the mean of several templates'
   unit embeddings ([p̂_t₁ ; … ; p̂_tₖ] / √k) as the hybrid's prompt part, weight chosen on valid.
2. Centring: subtract α × the mean unit embedding of the SemEval train positives (forward and reversed
   separately) before normalising, for the bidirectional prompt part of the hybrid.
3. Direction emphasis: the bidirectional prompt part [f̂ ; r̂] / √2 (f̂ = p̂(a, b), r̂ = p̂(b, a)) becomes
   the unit vector of [f̂ + r̂ ; μ (f̂ − r̂)]. μ = 1 is today's part exactly; for μ > 1 the cosine of two pairs is
   ∝ (f̂·f̂' + r̂·r̂') − γ (f̂·r̂' + r̂·f̂'), γ = (μ² − 1) / (μ² + 1): a choice that matches the stem *reversed* is
   penalised, which is what reversed distractors need.

Every figure is the mean accuracy over the sat / u2 / u4 / google / bats valid splits; no test split is read.

    RELVEC_DATA=../shared/data python benchmarks/inference_probes.py --threads 2 --model runs/exp/e10avg
    RELVEC_DATA=../shared/data python benchmarks/inference_probes.py --threads 2 --model runs/exp/e15tv \
        --probes direction
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
from ensemble_probe import JoinedEncoder

from relvec.data import ANALOGY_VALID_SETS, load_relation_similarity
from relvec.encoders.hybrid import HybridEncoder
from relvec.encoders.offset import OffsetEncoder
from relvec.evaluation.cache import EmbeddingCache
from relvec.evaluation.suite import analogy_evaluator
from relvec.files import write_json
from relvec.loading import load_model
from relvec.prompts import TEMPLATES
from relvec.recipes import DEFAULT_WEIGHTS, parse_weights, select_weight

from _common import machine, parse_with_common

COMBINATIONS = ("de", "abcde", "ad", "bde", "ade")
CENTRING = (0.0, 0.5, 1.0)
DIRECTION = (1.0, 1.25, 1.5, 2.0, 3.0)
PROBES = ("templates", "centring", "direction")
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)


def unit(x: Any) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def both_ways(prompt: Any, pairs: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    return unit(prompt.encode(pairs)), unit(prompt.encode([(b, a) for a, b in pairs]))


def accuracy(e: Any, index: dict[Any, int], x: np.ndarray) -> float:
    """Accuracy of question set ``e`` when pair ``p`` has the unit vector ``x[index[p]]``."""
    return float(
        np.mean([int(np.argmax(x[[index[c] for c in q.choices]] @ x[index[q.stem]])) == q.answer for q in e.questions])
    )


def valid_vectors(prompt: Any, static: Any, valid: list[Any]) -> list[tuple[Any, ...]]:
    """Per valid set: (evaluator, pair -> row, forward unit prompt, reversed unit prompt, unit offset)."""
    out = []
    for e in valid:
        pairs = e.pairs()
        out.append((e, {p: i for i, p in enumerate(pairs)}, *both_ways(prompt, pairs), unit(static.encode(pairs))))
    return out


def sweep(sets: list[tuple[Any, ...]], variants: dict[str, Any]) -> dict[str, dict[float, float]]:
    """Per variant (a function of the forward and reversed unit prompt vectors giving the prompt part) and per
    hybrid weight w: the valid mean accuracy (%) of the unit vector of [prompt part ; w × offset]."""
    out = {}
    for label, prompt_part in variants.items():
        means = {}
        for w in WEIGHTS:
            accuracies = [accuracy(e, i, unit(np.hstack([prompt_part(f, b), w * o]))) for e, i, f, b, o in sets]
            means[w] = 100 * float(np.mean(accuracies))
        out[label] = means
    return out


def template_ensembles(model_dir: str, static: Any, valid: list[Any]) -> dict[str, Any]:
    encoders = {t: EmbeddingCache(load_model(model_dir, template=t), show_progress_bar=False) for t in TEMPLATES}
    out: dict[str, Any] = {}
    for t, encoder in encoders.items():
        prompt = HybridEncoder(encoder, static, 0.0, bidirectional=True)
        out[t] = 100 * float(np.mean([e(prompt)["accuracy"] for e in valid]))
    for combo in COMBINATIONS:
        joined = EmbeddingCache(JoinedEncoder([encoders[t] for t in combo]), show_progress_bar=False)
        weight, rows = select_weight(joined, static, parse_weights(DEFAULT_WEIGHTS), valid, bidirectional=True)
        by_weight = {r["weight"]: 100 * r["mean"] for r in rows}
        out[combo] = {"prompt part": by_weight[0.0], "hybrid": by_weight[weight], "weight": weight}
    return out


def centring(model_dir: str, static: Any, valid: list[Any], data_dir: str | None) -> dict[str, Any]:
    prompt = load_model(model_dir)
    train = list(
        dict.fromkeys(p for r in load_relation_similarity("semeval2012", "train", data_dir) for p in r.positives)
    )
    forward, backward = both_ways(prompt, train)
    mean_f, mean_b = forward.mean(0), backward.mean(0)
    variants = {
        f"alpha {alpha:g}": lambda f, b, a=alpha: np.hstack([unit(f - a * mean_f), unit(b - a * mean_b)]) / np.sqrt(2)
        for alpha in CENTRING
    }
    return sweep(valid_vectors(prompt, static, valid), variants)


def direction(model_dir: str, static: Any, valid: list[Any]) -> dict[str, Any]:
    prompt = load_model(model_dir)
    variants = {f"mu {mu:g}": lambda f, b, m=mu: unit(np.hstack([f + b, m * (f - b)])) for mu in DIRECTION}
    return sweep(valid_vectors(prompt, static, valid), variants)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a trained prompt model folder")
    parser.add_argument("--vectors", default="encoder:mpnet", help="the offsets' word vectors")
    parser.add_argument("--probes", default=",".join(PROBES), help=f"comma list of {', '.join(PROBES)}")
    args = parse_with_common(parser)
    probes = [p.strip() for p in args.probes.split(",") if p.strip()]
    if unknown := sorted(set(probes) - set(PROBES)):
        raise SystemExit(f"--probes: unknown {', '.join(unknown)} (choose from {', '.join(PROBES)})")
    static = EmbeddingCache(OffsetEncoder.from_pretrained(args.vectors))
    valid = [analogy_evaluator(n, "valid", args.data_dir, None) for n in ANALOGY_VALID_SETS]
    result: dict[str, Any] = {"machine": machine(), "model": args.model}
    if "templates" in probes:
        result["templates"] = template_ensembles(args.model, static, valid)
    if "centring" in probes:
        result["centring"] = centring(args.model, static, valid, args.data_dir)
    if "direction" in probes:
        result["direction"] = direction(args.model, static, valid)
    print(json.dumps(result, indent=2), flush=True)
    if args.output:
        write_json(args.output, result)


if __name__ == "__main__":
    main()
