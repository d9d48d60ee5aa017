"""The RelBERT paper's findings, re-run on MiniLM with the ``quick`` recipe (RESULTS.md, "The paper's findings").

Trains every variant (a finished run is reused: rerunning the script resumes where it stopped), then evaluates
each on the analogy test sets and SemEval valid, and the vanilla, baseline and no-hypernymy models on the
five lexical-relation sets as well:

- seeds: ``quick`` with seeds 0, 1, 2 (seed 0 is the baseline of every other comparison);
- losses: NCE (baseline), InfoLOOB, triplet, triplet + the classification term;
- templates: a, b, c, e besides d (the default, the baseline);
- memorisation: without SemEval parent class 1 (Class-Inclusion, the hypernymy relations);
- fine-tuning: the untuned backbone (``vanilla:minilm``) against the baseline.

    RELVEC_DATA=../shared/data python benchmarks/findings.py --threads 2 --runs runs/findings \\
        --output runs/findings/findings.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from relvec.evaluation import evaluate_all
from relvec.loading import load_model
from relvec.recipes import train
from relvec.training import TrainingArguments

from _common import machine

ANALOGY = ("sat_full", "u2", "u4", "google", "bats", "semeval2012_valid")
VARIANTS: dict[str, dict[str, Any]] = {
    "nce-seed0": {},
    "nce-seed1": {"seed": 1},
    "nce-seed2": {"seed": 2},
    "info_loob": {"loss": "info_loob"},
    "triplet": {"loss": "triplet"},
    "triplet+classification": {"loss": "triplet", "classification": True},
    "template-a": {"template": "a"},
    "template-b": {"template": "b"},
    "template-c": {"template": "c"},
    "template-e": {"template": "e"},
    "no-hypernymy": {"exclude_relations": ["1"]},
}
CLASSIFY = ("vanilla", "nce-seed0", "no-hypernymy")


def run_variant(name: str, overrides: dict[str, Any], runs: Path, data_dir: str | None) -> dict[str, Any]:
    folder = runs / name
    started = time.perf_counter()
    args = TrainingArguments.from_preset("quick", output_dir=str(folder), data_dir=data_dir, **overrides)
    finished = (folder / "history.json").is_file()
    train(args, resume=True, show_progress_bar=False)
    return {"folder": str(folder), "train_s": None if finished else round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs/findings")
    parser.add_argument("--only", default=None, help="comma list of variants (default: all)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = Path(args.runs)
    output = Path(args.output)
    report: dict[str, Any] = json.loads(output.read_text()) if output.is_file() else {}
    report["machine"] = machine()
    chosen = args.only.split(",") if args.only else [*VARIANTS, "vanilla"]
    for name in chosen:
        row = report.setdefault(name, {})
        if name != "vanilla" and "train_s" not in row:
            row.update(run_variant(name, VARIANTS[name], runs, args.data_dir))
        spec = "vanilla:minilm" if name == "vanilla" else row["folder"]
        model = load_model(spec)
        if "analogy" not in row:
            r = evaluate_all(model, data_dir=args.data_dir, tasks=["analogy"], analogy=ANALOGY, show_progress_bar=False)
            row["analogy"] = {k: v["accuracy"] for k, v in r["analogy"].items()}
        if name in CLASSIFY and "lexical_relation" not in row:
            r = evaluate_all(model, data_dir=args.data_dir, tasks=["lexical_relation"], show_progress_bar=False)
            row["lexical_relation"] = r["lexical_relation"]
        output.write_text(json.dumps(report, indent=2) + "\n")
        print(name, json.dumps({k: round(100 * v, 1) for k, v in row["analogy"].items()}), flush=True)


if __name__ == "__main__":
    main()
