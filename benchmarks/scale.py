"""Scale figures (BENCHMARKS.md, "Scale"): single-process encode vs Ray Data actors on the same pairs, and
approximate vs exact neighbour search (recall@10, build time, query latency) on real and synthetic vectors.

    RELVEC_DATA=../shared/data python benchmarks/scale.py --pairs 100000 --synthetic 1000000 --output runs/scale.json

Ray runs locally (``ray.init(num_cpus=2)``, two one-thread actors); the single process uses ``--threads`` (2).
FAISS uses its OpenMP threads (``OMP_NUM_THREADS``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.bulk import embed_to_shards, read_shards
from relvec.loading import load_model
from relvec.search import RelationIndex, dataset_pairs

from _common import machine


def real_pairs(n: int) -> list[tuple[str, str]]:
    """``n`` + 1,000 distinct pairs from every data set (reversed pairs added when there are too few)."""
    pairs = list(dict.fromkeys(dataset_pairs()))
    known = set(pairs)
    pairs += [(t, h) for h, t in pairs if (t, h) not in known]
    pairs = list(dict.fromkeys(pairs))
    np.random.default_rng(0).shuffle(pairs)
    if len(pairs) < n + 1000:
        raise SystemExit(f"only {len(pairs)} distinct pairs")
    return pairs[: n + 1000]


def search_figures(vectors: np.ndarray, queries: np.ndarray, backends: list[str]) -> dict[str, Any]:
    pairs = [(str(i), "x") for i in range(len(vectors))]
    flat = RelationIndex(pairs, vectors, {})
    started = time.perf_counter()
    exact = flat.search(queries, k=10)
    out: dict[str, Any] = {
        "exact": {"ms_per_query_batched": round(1000 * (time.perf_counter() - started) / len(queries), 3)}
    }
    truth = [{n.pair for n in row} for row in exact]
    for backend in backends:
        index = RelationIndex(pairs, vectors, {}, backend=backend)
        started = time.perf_counter()
        index.search(queries[:1], k=10)  # builds the FAISS index
        build = time.perf_counter() - started
        started = time.perf_counter()
        found = index.search(queries, k=10)
        batch_ms = 1000 * (time.perf_counter() - started) / len(queries)
        started = time.perf_counter()
        for q in queries[:100]:
            index.search(q, k=10)
        single_ms = 10 * (time.perf_counter() - started)
        recall = float(np.mean([len(t & {n.pair for n in row}) / 10 for t, row in zip(truth, found, strict=True)]))
        out[backend] = {
            "build_s": round(build, 2),
            "recall@10": round(recall, 4),
            "ms_per_query_batched": round(batch_ms, 3),
            "ms_per_query_single": round(single_ms, 3),
        }
        print(len(vectors), backend, out[backend], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--synthetic", type=int, default=1_000_000)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the single process")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result: dict[str, Any] = {"machine": machine(), "model": args.model}
    pairs = real_pairs(args.pairs)
    model = load_model(args.model)
    started = time.perf_counter()
    vectors = np.asarray(model.encode(pairs, normalize=True, show_progress_bar=False), dtype=np.float32)
    single = time.perf_counter() - started
    result["single_process"] = {
        "pairs": len(pairs),
        "seconds": round(single, 1),
        "pairs_per_s": round(len(pairs) / single),
    }
    print(result["single_process"], flush=True)
    if not args.skip_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "pairs.tsv"
            source.write_text("".join(f"{h}\t{t}\n" for h, t in pairs))
            started = time.perf_counter()
            summary = embed_to_shards(
                source, Path(tmp) / "out", args.model, workers=2, batch_size=256, shard_size=20_000
            )
            seconds = time.perf_counter() - started
            _, ray_vectors, _ = read_shards(Path(tmp) / "out")
        cos = float((ray_vectors * vectors).sum(1).min())
        result["ray"] = {
            "pairs": summary["rows"],
            "seconds": round(seconds, 1),
            "pairs_per_s": round(len(pairs) / seconds),
            "actors": 2,
            "min_cosine_to_single": round(cos, 6),
        }
        per_worker = len(pairs) / seconds / 2
        result["ray"]["hours_for_10M_on_N_workers"] = {
            n: round(10_000_000 / (per_worker * n) / 3600, 2) for n in (2, 8, 32)
        }
        print(result["ray"], flush=True)
        ray.shutdown()
    if not args.skip_search:
        result.update(search_results(vectors, args.pairs, args.synthetic))
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


def search_results(vectors: np.ndarray, n: int, synthetic_size: int) -> dict[str, Any]:
    """Search figures on the first ``n`` real vectors (the rest as queries), then on synthetic clusters."""
    out = {"search_real": search_figures(vectors[:n], vectors[n:], ["faiss-hnsw", "faiss-ivf"])}
    if synthetic_size:
        rng = np.random.default_rng(0)
        dim = vectors.shape[1]
        centres = rng.normal(size=(10_000, dim)).astype(np.float32)
        synthetic = centres[rng.integers(0, len(centres), synthetic_size)]
        synthetic += 0.5 * rng.normal(size=synthetic.shape).astype(np.float32)
        queries = centres[rng.integers(0, len(centres), 1000)] + 0.5 * rng.normal(size=(1000, dim)).astype(np.float32)
        out["search_synthetic"] = search_figures(synthetic, queries, ["faiss-ivf"])
    return out


if __name__ == "__main__":
    main()
