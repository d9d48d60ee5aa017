"""Open-vocabulary analogy completion on the Google and BATS test questions (RESULTS.md, "Analogy completion").

Each question becomes a completion query: the stem pair (A, B) and the answer's first word C; the target is
the answer's second word D. Reported per method: accuracy@1 and @10 over the default vocabulary (a target
outside it counts as a miss; its share is reported), and the time per query. Methods:

- ``3CosAdd`` / ``3CosMul`` over GloVe 6B 50d and over the relation model's encoder word vectors;
- each ``--model``: the relation model re-ranking the top ``--candidates`` of 3CosAdd over its own word vectors
  (``relvec complete``'s default). Models share their parts' embeddings (``_common.shared``).

    RELVEC_DATA=../shared/data python benchmarks/completion.py --threads 2 \\
        --model runs/best-cpu --model runs/best-cpu/hybrid --output runs/completion.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from relvec.completion import DEFAULT_CANDIDATES, AnalogyCompleter, default_vocabulary, word_vectors_of
from relvec.data import load_analogy
from relvec.encoders.offset import WordVectors
from relvec.loading import load_model

from _common import machine, shared


def queries(name: str, data_dir: str | None, limit: int | None) -> list[tuple[tuple[str, str], str, str]]:
    out = []
    for q in load_analogy(name, "test", data_dir)[:limit]:
        c, d = q.choices[q.answer]
        out.append((q.stem, c, d))
    return out


def score(completer: AnalogyCompleter, items: list, batch: int = 64) -> dict[str, Any]:
    hits1 = hits10 = 0
    started = time.perf_counter()
    known = [q for q in items if all(completer.space.unit(completer.vectors, w) is not None for w in (*q[0], q[1]))]
    for start in range(0, len(known), batch):  # a query word without a vector: a miss
        chunk = known[start : start + batch]
        found = completer.complete_many([(stem, c) for stem, c, _ in chunk], k=10)
        for (_, _, d), answers in zip(chunk, found, strict=True):
            words = [x.word.lower() for x in answers]  # Google writes "France"; the vocabulary is lower-case
            hits1 += bool(words) and words[0] == d.lower()
            hits10 += d.lower() in words
    seconds = time.perf_counter() - started
    n = len(items)
    return {
        "acc@1": hits1 / n,
        "acc@10": hits10 / n,
        "ms_per_query": 1000 * seconds / max(len(known), 1),
        "queries": n,
        "answerable": len(known),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], help="relation models to re-rank with; repeat")
    parser.add_argument("--encoder-vectors", default=None, help="word vectors for the 3Cos rows (default: 1st model's)")
    parser.add_argument("--datasets", default="google,bats")
    parser.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES)
    parser.add_argument("--limit", type=int, default=None, help="first N questions per set (quick check)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cache-dir", default="runs/vocabulary-cache", help="vocabulary vectors, kept between runs")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    vocabulary = default_vocabulary()
    sets = {n: queries(n, args.data_dir, args.limit) for n in args.datasets.split(",")}
    known = set(vocabulary)
    coverage = {n: sum(d.lower() in known for *_, d in items) / len(items) for n, items in sets.items()}
    loaded = {spec: load_model(spec) for spec in args.model}
    models = shared(loaded)
    first = next(iter(loaded.values()), None)
    encoder = word_vectors_of(first) if first is not None else None
    methods: dict[str, AnalogyCompleter] = {}
    for method in ("add", "mul"):
        methods[f"3Cos{method.title()}, GloVe 6B 50d"] = AnalogyCompleter(
            None, vocabulary, WordVectors.glove(), method=method, candidates=0, cache_dir=args.cache_dir
        )
        if encoder is not None:
            methods[f"3Cos{method.title()}, {encoder.name}"] = AnalogyCompleter(
                None, vocabulary, encoder, method=method, candidates=0, cache_dir=args.cache_dir
            )
    for spec, model in models.items():
        methods[f"{spec} re-ranking {args.candidates} ({encoder.name} 3CosAdd)"] = AnalogyCompleter(
            model, vocabulary, encoder, candidates=args.candidates, show_progress_bar=False, cache_dir=args.cache_dir
        )
    results: dict[str, Any] = {"machine": machine(), "vocabulary": len(vocabulary), "coverage": coverage, "rows": {}}
    for label, completer in methods.items():
        results["rows"][label] = {name: score(completer, items) for name, items in sets.items()}
        cells = " | ".join(
            f"{100 * r['acc@1']:.1f} | {100 * r['acc@10']:.1f} | {r['ms_per_query']:.0f}"
            for r in results["rows"][label].values()
        )
        print(f"| {label} | {cells} |", flush=True)
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
