"""Static relation model encode speed, one code version against another, side by side in one run.

Each ``--src`` is a relvec source tree (e.g. a ``git worktree`` of an older commit); every round times each tree's
``encode`` of the same random in-vocabulary pairs in a fresh subprocess (one at a time, never in parallel), so the
ratio between versions is measured under the same conditions. Reports the median pairs/s per version and model.

    git worktree add /tmp/relvec-old 9f5dc09
    python benchmarks/static_encode_speed.py --src /tmp/relvec-old/src --src src --model runs/mq-200k \\
        --model runs/mq-h256 --output runs/static_encode_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _common import machine

CHILD = r"""
import json, sys, time, numpy as np, torch
torch.set_num_threads(int(sys.argv[3]))
from relvec.loading import load_model
model = load_model(sys.argv[1])
n = int(sys.argv[2])
words = model.words
rng = np.random.default_rng(0)
pairs = [(words[i], words[j]) for i, j in rng.integers(0, len(words), size=(n, 2)) if i != j]
model.encode(pairs[:1000])
times = []
for _ in range(3):
    start = time.perf_counter()
    model.encode(pairs)
    times.append(time.perf_counter() - start)
print(json.dumps({"pairs_per_s": len(pairs) / float(np.median(times))}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", action="append", required=True, help="a relvec source tree (the folder of relvec/)")
    parser.add_argument("--model", action="append", required=True, help="a static relation model folder")
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    rates: dict[str, dict[str, list[float]]] = {m: {s: [] for s in args.src} for m in args.model}
    for _ in range(args.rounds):
        for model in args.model:
            for src in args.src:
                env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
                command = [sys.executable, "-c", CHILD, model, str(args.pairs), str(args.threads)]
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                rates[model][src].append(json.loads(done.stdout.strip().splitlines()[-1])["pairs_per_s"])
    report = {
        "machine": machine(),
        "threads": args.threads,
        "pairs": args.pairs,
        "median_pairs_per_s": {m: {s: round(statistics.median(r)) for s, r in v.items()} for m, v in rates.items()},
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
