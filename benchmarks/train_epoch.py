"""One NCE training epoch: relvec's trainer step vs a reference path, side by side in one run.

relvec path: dynamic padding, gradient cache in chunks of ``--chunk`` prompts, ``precision="auto"``.
Reference path: fp32, every prompt padded to 64 tokens, all ~410 prompts of a step embedded in one
pass with their whole graph kept (what the reference library does).
Each path runs in its own child process so that its peak RSS is its own. Both paths run the same
relations with 10 positives and 400 negatives (the paper setting); by default a subset of
relations is timed and the per-epoch time is extrapolated to all 79 (``--relations 79`` for all).

    RELVEC_DATA=../shared/data python benchmarks/train_epoch.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch


def _reference_step(model, loss_fn, pos, neg) -> float:
    tok = model.tokenizer
    enc = tok(model.prompts([*pos, *neg]), padding="max_length", max_length=64, truncation=True, return_tensors="pt")
    hidden = model.backbone(**enc).last_hidden_state
    keep = (enc["attention_mask"] * (enc["input_ids"] != tok.mask_token_id)).unsqueeze(-1).float()
    emb = (hidden * keep).sum(1) / keep.sum(1)
    loss = loss_fn(emb[: len(pos)], emb[len(pos) :])
    loss.backward()
    return float(loss)


def worker(path: str, relations: int, threads: int, chunk: int, model_name: str) -> dict:
    import transformers

    from relvec import RelationEncoder
    from relvec.data import load_relation_similarity
    from relvec.losses import NCELoss
    from relvec.precision import resolve_precision
    from relvec.training import TrainingArguments, prepare_records, relation_step, sample_relation

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    transformers.logging.set_verbosity_error()
    model = RelationEncoder.from_pretrained(model_name, device="cpu")
    model.train()
    records = prepare_records(load_relation_similarity("semeval2012", "train"), TrainingArguments())
    loss_fn = NCELoss(0.05)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-6)
    precision = resolve_precision("auto", model.device)
    rng = np.random.default_rng(0)
    chosen = records[:relations]
    start = time.perf_counter()
    losses = []
    for record in chosen:
        pos, neg = sample_relation(record, 10, 400, rng)
        if path == "relvec":
            losses.append(relation_step(model, loss_fn, pos, neg, chunk, precision))
        else:
            losses.append(_reference_step(model, loss_fn, pos, neg))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - start
    return {
        "path": path,
        "relations": len(chosen),
        "seconds": round(seconds, 1),
        "epoch_seconds_79": round(seconds / len(chosen) * 79, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "precision": precision if path == "relvec" else "fp32",
        "mean_loss": float(np.mean(losses)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--relations", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--worker", choices=["relvec", "reference"])
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.relations, args.threads, args.chunk, args.model)))
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import machine

    results = {}
    for path in ("relvec", "reference"):
        cmd = [sys.executable, __file__, "--worker", path, "--relations", str(args.relations),
               "--threads", str(args.threads), "--chunk", str(args.chunk), "--model", args.model]  # fmt: skip
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[path] = json.loads(out.strip().splitlines()[-1])
    torch.set_num_threads(args.threads)
    summary = {
        "machine": machine(),
        "speedup": round(results["reference"]["seconds"] / results["relvec"]["seconds"], 2),
        "rss_ratio": round(results["reference"]["peak_rss_mb"] / results["relvec"]["peak_rss_mb"], 2),
        **results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
