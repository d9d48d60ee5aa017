"""Probe, valid splits only: which rule for choosing the hybrid weight generalises best?

The weight is chosen on 358 analogy valid questions (sat 37, u2 24, u4 48, google 50, bats 199) whose
mean-accuracy curve is flat near its top, so the arg-max there may be noise. This script scores each
rule by repeated split-half cross-validation *inside* the valid splits: every repeat splits each set's
questions in two at random, a rule chooses the weight on one half, and the other half scores that
choice (mean of the five sets' accuracies, as the recipe reports). No test split is read.

Rules (each sees only the per-weight mean accuracy on the choosing half):

- ``argmax``: the recipe's rule (best mean; ties keep the smaller weight);
- ``smooth``: arg-max of the mean over each weight and its grid neighbours;
- ``plateau-T``: the median of the weights within T points of the best;
- ``fixed-W``: always W (no choice at all).

    RELVEC_DATA=../shared/data python benchmarks/weight_rule_cv.py --threads 2 \\
        --model runs/exp/e15tv --model runs/exp/tv --output runs/exp/weight_rule_cv.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from relvec.data import ANALOGY_VALID_SETS
from relvec.encoders.hybrid import HybridEncoder
from relvec.encoders.offset import OffsetEncoder
from relvec.evaluation.cache import EmbeddingCache
from relvec.evaluation.suite import analogy_evaluator
from relvec.files import write_json
from relvec.loading import load_model
from relvec.recipes import DEFAULT_WEIGHTS, parse_weights

from _common import machine, parse_with_common

Rule = Callable[[np.ndarray], int]


def argmax(curve: np.ndarray) -> int:
    return int(np.argmax(curve))


def smooth(curve: np.ndarray) -> int:
    padded = np.concatenate([curve[:1], curve, curve[-1:]])
    return int(np.argmax((padded[:-2] + padded[1:-1] + padded[2:]) / 3))


def plateau(tolerance: float) -> Rule:
    def rule(curve: np.ndarray) -> int:
        near = np.flatnonzero(curve >= curve.max() - tolerance / 100)
        return int(near[(len(near) - 1) // 2])

    return rule


def fixed(index: int) -> Rule:
    return lambda curve: index


def correctness(model: Any, evaluators: list[Any]) -> list[np.ndarray]:
    """Per set, a bool array (questions,) of whether ``model`` answers each question right."""
    return [np.asarray(e.correct(model)) for e in evaluators]


def cross_validate(flags: list[np.ndarray], rules: dict[str, Rule], repeats: int, seed: int) -> dict[str, Any]:
    """``flags[w][s]``: correctness per question of weight w on set s. Held-out mean accuracy per rule."""
    rng = np.random.default_rng(seed)
    sizes = [len(f) for f in flags[0]]
    held_out: dict[str, list[float]] = {name: [] for name in rules}
    picks: dict[str, list[int]] = {name: [] for name in rules}
    for _ in range(repeats):
        halves = [rng.permutation(n) < n // 2 for n in sizes]  # True: the choosing half
        choose = np.array([np.mean([f[s][h].mean() for s, h in enumerate(halves)]) for f in flags])
        score = np.array([np.mean([f[s][~h].mean() for s, h in enumerate(halves)]) for f in flags])
        for name, rule in rules.items():
            i = rule(choose)
            picks[name].append(i)
            held_out[name].append(score[i])
    return {
        name: {
            "held_out_mean": 100 * float(np.mean(held_out[name])),
            "picks": np.bincount(picks[name], minlength=len(flags)).tolist(),
        }
        for name in rules
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="a trained prompt model; repeat")
    parser.add_argument("--vectors", default="encoder:mpnet", help="the offsets' word vectors")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS)
    parser.add_argument("--repeats", type=int, default=2000)
    args = parse_with_common(parser)
    weights = parse_weights(args.weights)
    rules: dict[str, Rule] = {"argmax": argmax, "smooth": smooth, "plateau-0.5": plateau(0.5)}
    rules |= {"plateau-1": plateau(1.0), **{f"fixed-{w:g}": fixed(i) for i, w in enumerate(weights) if w <= 1}}
    static = EmbeddingCache(OffsetEncoder.from_pretrained(args.vectors), show_progress_bar=False)
    valid = [analogy_evaluator(n, "valid", args.data_dir, None) for n in ANALOGY_VALID_SETS]
    result: dict[str, Any] = {"machine": machine(), "weights": weights, "repeats": args.repeats, "models": {}}
    for path in args.model:
        prompt = EmbeddingCache(load_model(path), show_progress_bar=False)
        flags = [correctness(HybridEncoder(prompt, static, w, bidirectional=True), valid) for w in weights]
        curve = np.array([np.mean([f.mean() for f in fw]) for fw in flags])  # mean over sets, per weight
        chosen = {name: weights[rule(curve)] for name, rule in rules.items()}
        cv = cross_validate(flags, rules, args.repeats, seed=0)
        result["models"][path] = {"valid_mean": (100 * curve).tolist(), "chosen_on_all_valid": chosen, "cv": cv}
        print(path, {k: round(v["held_out_mean"], 2) for k, v in cv.items()}, flush=True)
    names = list(rules)
    result["mean_over_models"] = {
        n: float(np.mean([m["cv"][n]["held_out_mean"] for m in result["models"].values()])) for n in names
    }
    print(json.dumps(result["mean_over_models"], indent=1), flush=True)
    if args.output:
        write_json(args.output, result)


if __name__ == "__main__":
    main()
