"""Exhaustive completion with a static relation model, blended with 3CosAdd: choose the blend on the analogy
*valid* questions of Google and BATS, then read the test questions once (RESULTS.md, "Static relation models").

    RELVEC_DATA=../shared/data python benchmarks/completion_blend.py --model runs/static-100k-s0 --split valid \\
        --blends 0,1,3,10
"""

from __future__ import annotations

import argparse
import json

import torch
from completion import score

from relvec.completion import AnalogyCompleter, default_vocabulary
from relvec.data import load_analogy
from relvec.files import write_json
from relvec.loading import load_model

from _common import machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--split", default="valid", choices=["valid", "test"])
    parser.add_argument("--blends", default="0,1,3,10")
    parser.add_argument("--limit", type=int, default=100, help="questions per set")
    parser.add_argument("--vocab-size", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    vocabulary = default_vocabulary(args.vocab_size)
    report = {"machine": machine(), "model": args.model, "split": args.split}
    for name in ("google", "bats"):
        items = []
        for q in load_analogy(name, args.split, args.data_dir)[: args.limit]:
            c, d = q.choices[q.answer]
            items.append((q.stem, c, d))
        for blend in (float(x) for x in args.blends.split(",")):
            result = score(AnalogyCompleter(model, vocabulary, exhaustive=True, blend=blend), items, batch=1)
            report[f"{name} blend {blend:g}"] = result
            print(name, blend, json.dumps(result), flush=True)
    if args.output:
        write_json(args.output, report)


if __name__ == "__main__":
    main()
