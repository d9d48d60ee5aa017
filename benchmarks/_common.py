"""Helpers shared by the benchmark scripts (not part of the library)."""

from __future__ import annotations

import argparse
import os
import platform
import random
from pathlib import Path
from typing import Any

import torch

from relvec.data import load_analogy
from relvec.encoders.hybrid import HybridEncoder
from relvec.evaluation.cache import EmbeddingCache
from relvec.loading import model_identity, same_model


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def analogy_pairs(n: int, seed: int = 0, data_dir: str | None = None) -> list[tuple[str, str]]:
    """``n`` distinct pairs drawn from the analogy test sets."""
    pool: dict[tuple[str, str], None] = {}
    for name in ("sat_full", "u2", "u4", "google", "bats"):
        for q in load_analogy(name, "test", data_dir):
            for pair in (q.stem, *q.choices):
                pool.setdefault(pair, None)
    pairs = sorted(pool)
    random.Random(seed).shuffle(pairs)
    if len(pairs) < n:
        raise SystemExit(f"only {len(pairs)} distinct pairs available")
    return pairs[:n]


def shared(models: dict[str, Any]) -> dict[str, Any]:
    """Wrap every model (and each hybrid's parts) in one EmbeddingCache per distinct component.

    Two components are the same when their fingerprints agree (:func:`relvec.loading.same_model`),
    so a hybrid's copy of a trained model shares that model's embeddings.
    """
    caches: list[tuple[dict[str, Any], EmbeddingCache]] = []

    def cached(model: Any) -> EmbeddingCache:
        identity = model_identity(model)
        for other, cache in caches:
            if same_model(identity, other):
                return cache
        caches.append((identity, EmbeddingCache(model)))
        return caches[-1][1]

    out = {}
    for spec, model in models.items():
        if isinstance(model, HybridEncoder):
            parts = cached(model.prompt), cached(model.offset)
            out[spec] = HybridEncoder(*parts, model.weight, model.name_or_path, bidirectional=model.bidirectional)
        else:
            out[spec] = cached(model)
    return out


def parse_with_common(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add ``--threads``, ``--data-dir`` and ``--output``, parse, and apply ``--threads``."""
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", default=None, help="JSON file for the figures")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args
