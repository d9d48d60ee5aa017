"""Relation mining on Ray (``relvec neighbours mine --engine ray``): the N² ordered pairs of a vocabulary split into
blocks of heads, each block scored by a pool of Ray actors (each loads the static model once), its top k written as a
shard, and the shards merged into the global top k exactly.

Exactness: every pair belongs to one block, and each shard holds its block's exact top k (the block's scores are
cos(q, emb(a, b)) from the model's ``score_rows``: in bf16 with its shortlist rescored in fp32, or in fp32), so the
global top k is the top k of the union. Resumable: a shard is written atomically once its block is done, a rerun
scores only the blocks without one, and ``manifest.json`` (model fingerprint, vocabulary digest, seeds, negatives,
k, block size) refuses a rerun with other settings. Ties break by (score, head row, tail row), as in one process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.encoders.pair_scoring import require_row_scorer
from relvec.files import read_json, write_json
from relvec.loading import load_model, model_identity
from relvec.mining import (
    Mined,
    Pair,
    best_per_head,
    best_scored,
    check_per_head,
    excluded_rows,
    mining_query,
    seed_list,
)
from relvec.precision import compute_dtype

MANIFEST = "manifest.json"


class BlockMiner:
    """One actor's state: the model, the vocabulary's rows and the query, built once; :meth:`block` scores heads
    ``start:stop`` against every tail and returns the block's top k."""

    def __init__(
        self, spec: str, words: list[str], seeds: list[Pair], negatives: list[Pair], weight: float, precision: str
    ) -> None:
        torch.set_num_threads(1)
        self.model = load_model(spec, precision=precision)
        self.scorer = require_row_scorer(self.model, "mining")
        self.words, self.rows = words, self.scorer.rows_of(words)
        self.query = mining_query(self.model, seeds, negatives, weight)
        self.dtype = compute_dtype(precision)
        self.banned = excluded_rows(words, [*seeds, *negatives])

    def block(self, start: int, stop: int, k: int, per_head: int | None = None) -> dict[str, Any]:
        n = len(self.words)
        heads = self.rows[start:stop].repeat_interleave(n)
        tails = self.rows.repeat(stop - start)
        scores = self.scorer.score_rows(heads, tails, self.query, self.dtype)
        for i in range(stop - start):  # a ≠ b, and never the seeds or negatives
            scores[i * n + start + i] = -np.inf
        for a, b in self.banned:
            if start <= a < stop:
                scores[(a - start) * n + b] = -np.inf

        def exact(chosen: np.ndarray) -> np.ndarray:
            index = torch.as_tensor(chosen)
            return self.scorer.score_rows(heads[index], tails[index], self.query)

        if per_head:  # a head is in one block only: the cap holds after the merge too
            best, values = best_per_head(scores, n, k, per_head, self.dtype, exact)
        else:
            best, values = best_scored(scores, k, self.dtype, exact)
        flat = [start * n + int(i) for i in best]  # the block's rows start at head row `start`
        return {"start": start, "stop": stop, "flat": flat, "scores": [float(v) for v in values]}


def _digest(words: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(words), ensure_ascii=False).encode()).hexdigest()[:16]


def _check_manifest(output: Path, manifest: dict[str, Any]) -> None:
    path = output / MANIFEST
    if path.is_file():
        if read_json(path) != manifest:
            raise ValueError(f"{output} holds a mining run with other settings ({path}); use a new --output")
        return
    output.mkdir(parents=True, exist_ok=True)
    write_json(path, manifest)


def mine_on_ray(
    spec: str,
    vocabulary: Sequence[str],
    seed: Pair | Sequence[Pair],
    output: str | Path,
    k: int = 20,
    block_heads: int = 256,
    workers: int = 2,
    negatives: Sequence[Pair] = (),
    negative_weight: float = 0.5,
    precision: str = "auto",
    on_block: Callable[[int, int], None] | None = None,
    max_per_head: int | None = None,
) -> list[Mined]:
    """Mine every ordered pair of ``vocabulary`` (see the module docstring) on the running Ray instance (the caller
    starts it: the CLI does, locally or with ``--address``); shards go to ``output``."""
    import ray
    from ray.util import ActorPool

    words = list(dict.fromkeys(vocabulary))
    if len(words) < 2 or k < 1 or block_heads < 1 or workers < 1:
        raise ValueError(
            f"need two words or more and positive k, block and workers, got {len(words)}, {k}, {block_heads}, {workers}"
        )
    check_per_head(max_per_head)
    seeds, negatives = seed_list(seed), [tuple(p) for p in negatives]
    model = load_model(spec, precision=precision)
    manifest = {
        "model": model_identity(model)["fingerprint"],
        "vocabulary": _digest(words),
        "words": len(words),
        "seeds": seeds,
        "negatives": negatives,
        "negative_weight": negative_weight,
        "k": k,
        "block": block_heads,
        **({"max_per_head": max_per_head} if max_per_head else {}),  # absent when off: older shards still resume
    }
    output = Path(output)
    _check_manifest(output, json.loads(json.dumps(manifest)))
    blocks = [(s, min(s + block_heads, len(words))) for s in range(0, len(words), block_heads)]
    todo = [b for b in blocks if not _shard(output, b[0]).is_file()]
    if todo:
        actor = ray.remote(num_cpus=1)(BlockMiner)
        pool = ActorPool(
            [
                actor.remote(spec, words, seeds, negatives, negative_weight, precision)
                for _ in range(min(workers, len(todo)))
            ]
        )
        for done, result in enumerate(
            pool.map_unordered(lambda a, b: a.block.remote(b[0], b[1], k, max_per_head), todo), 1
        ):
            write_json(_shard(output, result["start"]), result)  # atomic: a killed block leaves no shard
            if on_block is not None:
                on_block(done + len(blocks) - len(todo), len(blocks))
    return merge_shards(output, words, k)


def _shard(output: Path, start: int) -> Path:
    return output / f"block-{start:08d}.json"


def merge_shards(output: str | Path, words: Sequence[str], k: int) -> list[Mined]:
    """The global top k of every block's shard (ties: score, then head row, then tail row)."""
    flat, scores = [], []
    for path in sorted(Path(output).glob("block-*.json")):
        shard = read_json(path)
        flat += shard["flat"]
        scores += shard["scores"]
    n = len(words)
    flat_array, score_array = np.asarray(flat, dtype=np.int64), np.asarray(scores, dtype=np.float32)
    order = np.lexsort((flat_array, -score_array))[:k]
    return [Mined((words[flat_array[i] // n], words[flat_array[i] % n]), float(score_array[i])) for i in order]
