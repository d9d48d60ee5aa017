"""Where one machine's encode time goes: batch shapes, bf16 weights, ``torch.compile``, vs the matmul peak.

Every variant encodes the same pairs in this process, alternating rounds (median round), so the figures are
ratios measured side by side. The machine's peak is measured here too: a large square matmul in fp32 and in
bf16. Useful FLOPs count the unpadded tokens only (2 x the backbone's linear-layer MACs + attention), so
the fraction of peak says how much of the arithmetic units the encoder keeps busy.

    RELVEC_DATA=../shared/data python benchmarks/encode_speed.py --threads 2 --output runs/encode_speed.json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from encode_throughput import reference_encode

from relvec import RelationEncoder
from relvec.precision import bf16_weights, cpu_has_fast_bf16, resolve_precision

from _common import analogy_pairs, machine


def matmul_peak(dtype: torch.dtype, size: int = 2048, reps: int = 10) -> float:
    """TFLOP/s of ``size``-square matmuls (the best of ``reps``)."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e12


def useful_flops(model: RelationEncoder, lengths: list[int]) -> float:
    """Forward FLOPs on unpadded prompts: 24·L·H² per layer for the linear layers, 4·L²·H for attention."""
    config = model.backbone.config
    hidden, layers = config.hidden_size, config.num_hidden_layers
    ffn = config.intermediate_size / hidden
    total = 0.0
    for length in lengths:
        total += layers * (2 * length * hidden * hidden * (4 + 2 * ffn) + 4 * length * length * hidden)
    return total


def token_batches(lengths: list[int], max_tokens: int, max_pairs: int) -> list[list[int]]:
    """Length-sorted batches whose padded size (rows x longest) stays within ``max_tokens``."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = lengths[current[0]] if current else lengths[i]
        if current and ((len(current) + 1) * width > max_tokens or len(current) >= max_pairs):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def encode_batches(
    model: RelationEncoder, pairs: list[tuple[str, str]], batches: list[list[int]], mode: str
) -> np.ndarray:
    """The library's encode loop with explicit batches (tokenisation included, as in ``encode``).

    ``mode``: ``fp32``, ``autocast`` (bf16 autocast over fp32 weights) or ``bf16-weights`` (bf16 copies).
    """
    features = model.tokenize(pairs)
    out = torch.empty((len(pairs), model.embedding_dim))
    model.eval()
    with (
        bf16_weights(model, mode == "bf16-weights"),
        torch.inference_mode(),
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "autocast"),
    ):
        for idx in batches:
            out[idx] = model(model.collate([features[i] for i in idx])).float()
    return out.numpy()


def variants(
    model: RelationEncoder, pairs: list[tuple[str, str]], lengths: list[int], args: argparse.Namespace
) -> dict[str, Callable]:
    """Name -> a call encoding ``pairs`` (of token ``lengths``) one way; the names say precision and batching."""
    native = resolve_precision("auto", model.device) == "bf16"
    best = "bf16-weights" if native else "fp32"

    def fixed(size: int) -> list[list[int]]:
        return token_batches(lengths, 10**9, size)

    runs: dict[str, Callable] = {
        "library encode (batch 64, precision auto)": lambda: model.encode(pairs, show_progress_bar=False),
        "reference path (pad to 64, fp32, sum pooling)": lambda: reference_encode(model, pairs),
        "fp32, batch 64": lambda: encode_batches(model, pairs, fixed(64), "fp32"),
    }
    if native:
        runs["bf16 autocast, batch 64 (the library before)"] = lambda: encode_batches(
            model, pairs, fixed(64), "autocast"
        )
    for size in args.batch_sizes:
        runs[f"{best}, batch {size}"] = lambda size=size: encode_batches(model, pairs, fixed(size), best)
    for budget in args.token_budgets:
        runs[f"{best}, token budget {budget}"] = lambda b=budget: encode_batches(
            model, pairs, token_batches(lengths, b, 4096), best
        )
    if args.compile:
        compiled = copy.deepcopy(model).to(torch.bfloat16 if native else torch.float32)
        compiled.backbone = torch.compile(compiled.backbone, dynamic=True)
        encode_batches(compiled, pairs, fixed(64), "fp32")  # compile outside the timed rounds
        runs[f"torch.compile ({'bf16' if native else 'fp32'} weights), batch 64"] = lambda: encode_batches(
            compiled, pairs, fixed(64), "fp32"
        )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[32, 64, 128, 256])
    parser.add_argument("--token-budgets", type=lambda s: [int(x) for x in s.split(",")], default=[2048, 4096])
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to build)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    pairs = analogy_pairs(args.pairs)
    model = RelationEncoder.from_pretrained(args.model, device="cpu")
    peak = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    lengths = [len(f.input_ids) for f in model.tokenize(pairs)]
    exact = encode_batches(model, pairs, token_batches([1] * len(pairs), 10**9, 64), "fp32")  # input order
    runs = variants(model, pairs, lengths, args)
    times: dict[str, list[float]] = {name: [] for name in runs}
    cosine: dict[str, float] = {}
    for name, run in runs.items():  # warm-up, and agreement with fp32
        vectors = run()
        cos = (vectors * exact).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(exact, axis=1)
        cosine[name] = float(cos.min())
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    flops = useful_flops(model, lengths)
    padded = sum(len(b) * lengths[b[0]] for b in token_batches(lengths, 10**9, 64))
    auto = resolve_precision("auto", model.device)
    rows: dict[str, Any] = {}
    for name, ts in times.items():
        seconds = statistics.median(ts)
        tflops = flops / seconds / 1e12
        kind = "bf16" if "bf16" in name or (name.startswith("library") and auto == "bf16") else "fp32"
        rows[name] = {
            "pairs_per_s": round(len(pairs) / seconds, 1),
            "tflops": round(tflops, 3),
            "fraction_of_peak": round(tflops / peak[kind], 3),
            "min_cosine_vs_fp32": round(cosine[name], 6),
            "rounds_s": [round(t, 2) for t in ts],
        }
    result = {
        "machine": machine(),
        "native_bf16": cpu_has_fast_bf16(),
        "precision_auto": auto,
        "pairs": len(pairs),
        "gflop_per_pair": round(flops / len(pairs) / 1e9, 3),
        "mean_tokens": round(float(np.mean(lengths)), 1),
        "padding_share_batch_64": round(1 - sum(lengths) / padded, 4),  # what packing could still remove
        "matmul_peak_tflops": {k: round(v, 3) for k, v in peak.items()},
        "variants": rows,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
