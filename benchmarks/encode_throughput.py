"""Encode throughput: relvec ``encode`` vs a path that does what the reference library does.

Reference path: pad every prompt to 64 tokens, fp32, sum pooling, batch 64. Both run in this
process, alternating rounds, on the same 2,000 distinct analogy pairs; the median round counts.

    RELVEC_DATA=../shared/data python benchmarks/encode_throughput.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
import transformers

from relvec import RelationEncoder
from relvec.precision import resolve_precision

from _common import analogy_pairs, machine


def reference_encode(model: RelationEncoder, pairs: list[tuple[str, str]], batch_size: int = 64) -> np.ndarray:
    """Pad to 64, fp32, *sum* over non-mask tokens (the reference library's "average")."""
    tok = model.tokenizer
    texts = model.prompts(pairs)
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            enc = tok(texts[start : start + batch_size], padding="max_length", max_length=64, truncation=True,
                      return_tensors="pt")  # fmt: skip
            hidden = model.backbone(**enc).last_hidden_state
            keep = (enc["attention_mask"] * (enc["input_ids"] != tok.mask_token_id)).unsqueeze(-1)
            out.append((hidden * keep).sum(1))
    return torch.cat(out).numpy()


def bf16_check(model: RelationEncoder, pairs: list[tuple[str, str]], exact: np.ndarray) -> dict[str, float]:
    """Forced bf16 autocast vs fp32 on the same pairs: speed ratio and agreement."""
    start = time.perf_counter()
    model.encode(pairs, precision="fp32", show_progress_bar=False)
    fp32_s = time.perf_counter() - start
    start = time.perf_counter()
    vectors = model.encode(pairs, precision="bf16", show_progress_bar=False)
    bf16_s = time.perf_counter() - start
    cos = (vectors * exact).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(exact, axis=1)
    return {
        "pairs": len(pairs),
        "fp32_s": round(fp32_s, 2),
        "bf16_s": round(bf16_s, 2),
        "bf16_speedup": round(fp32_s / bf16_s, 2),
        "min_cosine": float(cos.min()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--bf16-pairs", type=int, default=256, help="pairs for the forced-bf16 check (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    pairs = analogy_pairs(args.pairs)
    model = RelationEncoder.from_pretrained(args.model, device="cpu")
    auto = resolve_precision("auto", model.device)
    model.encode(pairs[:64])
    reference_encode(model, pairs[:64])  # warm-up both paths
    times: dict[str, list[float]] = {"relvec": [], "reference": []}
    vectors = None
    for _ in range(args.rounds):
        start = time.perf_counter()
        vectors = model.encode(pairs, batch_size=64, show_progress_bar=False)
        times["relvec"].append(time.perf_counter() - start)
        start = time.perf_counter()
        reference_encode(model, pairs)
        times["reference"].append(time.perf_counter() - start)
    exact = model.encode(pairs, batch_size=64, precision="fp32", show_progress_bar=False)
    bf16 = bf16_check(model, pairs[: args.bf16_pairs], exact[: args.bf16_pairs]) if args.bf16_pairs else None
    cos = (vectors * exact).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(exact, axis=1)
    rel = len(pairs) / statistics.median(times["relvec"])
    ref = len(pairs) / statistics.median(times["reference"])
    result = {
        "machine": machine(),
        "pairs": len(pairs),
        "precision_auto": auto,
        "relvec_pairs_per_s": round(rel, 1),
        "reference_pairs_per_s": round(ref, 1),
        "speedup": round(rel / ref, 2),
        "min_cosine_vs_fp32": float(cos.min()),
        "rounds_s": {k: [round(t, 2) for t in v] for k, v in times.items()},
        "forced_bf16": bf16,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
