"""Ten million vocabulary pairs, embedded on Ray Data, indexed as codes, searched (issue 35), with the peak memory
of the whole process tree (this process, Ray's processes and its actors) sampled through every stage.

1. pairs: ``--pairs`` distinct ordered pairs of the ``--vocab`` most frequent words (a seeded walk through all
   V(V−1) of them), written to one Parquet file; the next 2 × ``--queries`` pairs of the walk are held out as
   queries (never indexed): the first half chooses the search effort, the second is the test.
2. embed: ``embed_to_shards`` (what ``relvec embed --engine ray --dim D`` runs) with ``--workers`` one-thread
   actors of the model reduced to ``--dim`` by its folder's PCA.
3. truth: exact top 10 of every query over the shards, streamed (never every float vector at once), before any
   index is in memory.
4. index: ``build_code_index`` (``relvec neighbours build --from-shards``; HNSW over 8-bit codes by default), saved
   and loaded. A rerun with the same ``--work`` finds the shards done and only indexes again.
5. search: the effort (efSearch, nprobe) calibrated on the valid queries (recall@10 ≥ ``--target``); recall@10
   on the test queries and the time per query, one query at a time and in one batch.

    RELVEC_DATA=../shared/data python benchmarks/scale_index.py --model runs/mq-h256 --dim 256 \\
        --pairs 10000000 --work runs/scale-10m --output runs/scale_index.json
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import ray
import torch

from relvec.bulk import embed_to_shards
from relvec.code_index import CodeIndex, ShardReader, build_code_index, calibrate, exact_top, recall_at
from relvec.completion import default_vocabulary
from relvec.loading import load_model

from _common import machine

GIB = 1024**3


class TreeMemory:
    """Samples, every ``interval`` s, the memory of this process and all its descendants: the sum of RSS (counts
    shared pages once per process: an upper bound) and the sum of PSS (shared pages split: the true footprint)."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval, self.stage = interval, "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self.interval):
            rss = pss = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    info = proc.memory_full_info()
                    rss, pss = rss + info.rss, pss + getattr(info, "pss", info.rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            peak = self.peaks.setdefault(self.stage, {"rss_sum_gib": 0.0, "pss_sum_gib": 0.0})
            peak["rss_sum_gib"] = max(peak["rss_sum_gib"], round(rss / GIB, 2))
            peak["pss_sum_gib"] = max(peak["pss_sum_gib"], round(pss / GIB, 2))

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def write_pairs(path: Path, words: list[str], count: int, seed: int = 0) -> tuple[Any, np.ndarray]:
    """The first ``count`` pairs of a walk through the V(V−1) ordered pairs (a ≠ b) of ``words``, into a Parquet
    file; returns the walk (i0, i1 -> head and tail rows) and the words, for the held-out pairs after them.

    Pair j is (word j // (V−1), the (j % (V−1))-th other word); the walk j = (i·step + offset) mod V(V−1), with a
    step coprime to V(V−1), visits each pair at most once."""
    v = len(words)
    space = v * (v - 1)
    rng = np.random.default_rng(seed)
    step = int(rng.integers(space // 3, space // 2)) | 1
    while np.gcd(step, space) != 1:
        step += 2
    offset = int(rng.integers(space))
    names = np.asarray(words, dtype=object)

    def chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        j = (np.arange(start, stop, dtype=np.int64) * step + offset) % space
        head, other = j // (v - 1), j % (v - 1)
        return head, np.where(other < head, other, other + 1)

    with pq.ParquetWriter(path, pa.schema([("head", pa.string()), ("tail", pa.string())])) as writer:
        for start in range(0, count, 1_000_000):
            head, tail = chunk(start, min(count, start + 1_000_000))
            writer.write_table(pa.table({"head": names[head].tolist(), "tail": names[tail].tolist()}))
    return chunk, names


def timed(report: dict[str, Any], memory: TreeMemory, stage: str, work: Any) -> Any:
    memory.stage = stage
    start = time.perf_counter()
    out = work()
    report["seconds"][stage] = round(time.perf_counter() - start, 1)
    print(json.dumps({stage: report["seconds"][stage]}), flush=True)
    return out


def per_query_ms(index: CodeIndex, queries: np.ndarray) -> dict[str, float]:
    start = time.perf_counter()
    for q in queries:
        index.search_rows(q[None], 10)
    single = 1000 * (time.perf_counter() - start) / len(queries)
    start = time.perf_counter()
    index.search_rows(queries, 10)
    return {"one_at_a_time": round(single, 3), "batched": round(1000 * (time.perf_counter() - start) / len(queries), 3)}


def run(args: argparse.Namespace, report: dict[str, Any], memory: TreeMemory) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    words = default_vocabulary(args.vocab)
    pairs_file = work / "pairs.parquet"
    chunk, names = timed(report, memory, "pairs", lambda: write_pairs(pairs_file, words, args.pairs))
    head, tail = chunk(args.pairs, args.pairs + 2 * args.queries)
    held = list(zip(names[head].tolist(), names[tail].tolist(), strict=True))
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, object_store_memory=args.store)
    shards = work / "shards"
    summary = timed(
        report,
        memory,
        "embed",
        lambda: embed_to_shards(
            pairs_file, shards, args.model, args.workers, args.ray_batch, args.shard_size, 1, dim=args.dim
        ),
    )
    ray.shutdown()
    report["embedded"] = {k: v if k != "errors" else len(v) for k, v in summary.items()}
    reader = timed(report, memory, "read_pairs", lambda: ShardReader(shards))
    model = load_model(args.model, dim=args.dim)
    queries = np.asarray(model.encode(held, normalize=True, show_progress_bar=False), dtype=np.float32)
    del model
    truth, _ = timed(report, memory, "exact_truth", lambda: exact_top(reader, queries, 10))  # before the index
    stage = lambda what: print(json.dumps({"index": what, "at_s": round(time.perf_counter() - started)}), flush=True)  # noqa: E731
    started = time.perf_counter()
    index = timed(
        report,
        memory,
        "index",
        lambda: build_code_index(shards, args.backend, lists=args.lists, reader=reader, on_stage=stage),
    )
    timed(report, memory, "save", lambda: index.save(work / "index"))
    del index
    index = timed(report, memory, "load", lambda: CodeIndex.load(work / "index"))
    valid, test = slice(0, args.queries), slice(args.queries, 2 * args.queries)
    memory.stage = "search"
    report["calibration"] = calibrate(index, queries[valid], truth[valid], args.target)
    found, _ = index.search_rows(queries[test], 10)
    report["test"] = {"recall_at_10": round(recall_at(found, truth[test]), 4), "effort": index.effort}
    report["test"]["ms_per_query"] = per_query_ms(index, queries[test])
    report["index"] = {"pairs": len(index), "backend": index.backend, "dim": index.dim}
    report["disk_gib"] = {
        "shards": round(sum(p.stat().st_size for p in shards.glob("*.parquet")) / GIB, 2),
        "index": round(sum(p.stat().st_size for p in (work / "index").iterdir()) / GIB, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a relvec model folder holding a reduction to --dim")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--vocab", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000, help="held-out queries, each of valid and test")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ray-batch", type=int, default=8192, help="rows per Ray batch")
    parser.add_argument("--shard-size", type=int, default=250_000)
    parser.add_argument("--backend", default="faiss-hnsw-sq8", choices=["faiss-hnsw-sq8", "faiss-ivf-sq8"])
    parser.add_argument("--lists", type=int, default=None, help="faiss-ivf-sq8: lists (default 2·√pairs)")
    parser.add_argument("--target", type=float, default=0.95, help="recall@10 the effort is calibrated to (valid)")
    parser.add_argument("--store", type=int, default=2 * GIB, help="Ray object store bytes")
    parser.add_argument("--work", required=True, help="folder for the pairs, shards and index (large)")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    report: dict[str, Any] = {"machine": machine(), "model": args.model, "dim": args.dim, "seconds": {}}
    memory = TreeMemory()
    try:
        run(args, report, memory)
    finally:
        report["peak_memory"] = memory.stop()
        report["peak_pss_sum_gib"] = max((p["pss_sum_gib"] for p in report["peak_memory"].values()), default=0)
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
