"""The RelBERT paper's whole table (analogy, lexical classification, relation mapping) for several models,
side by side with the published rows, in one run.

Models share their parts' embeddings (``_common.shared``): a trained model and its hybrid embed each
pair once. Every model goes through ``evaluate_all`` (what ``relvec eval all`` runs); the JSON keeps each
model's full results and timings, the Markdown adds the published rows below the measured ones.

    RELVEC_DATA=../shared/data python benchmarks/paper_table.py --threads 2 \\
        --model runs/best-cpu --model runs/best-cpu/hybrid --model offset --output runs/paper_table.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from relvec.encoders.hybrid import HybridEncoder
from relvec.evaluation import evaluate_all
from relvec.evaluation.suite import TASKS
from relvec.loading import load_model

from _common import machine, shared

ANALOGY_COLUMNS = (
    *("sat_full", "sat", "u2", "u4", "google", "bats"),
    *("conceptnet_relational_similarity", "t_rex_relational_similarity", "nell_relational_similarity"),
    "semeval2012_valid",
)
ANALOGY_HEAD = ("SAT (full)", "SAT", "U2", "U4", "Google", "BATS", "ConceptNet", "T-REx", "NELL", "SemEval valid")
LEXICAL_COLUMNS = ("BLESS", "CogALexV", "EVALution", "K&H+N", "ROOT09")

# Published figures (../shared/reference): the released RoBERTa-base NCE model card (seed 0) and the EMNLP 2021
# slides (RoBERTa-large, manual prompt; FastText; GloVe/FastText "cat" classifiers). None = not published there.
PUBLISHED_ANALOGY: dict[str, tuple[float | None, ...]] = {
    "RelBERT RoBERTa-base NCE (model card)": (59.9, 60.8, 59.6, 57.4, 89.2, 70.3, 39.8, 66.7, 62.0, None),
    "RelBERT RoBERTa-large, manual (slides)": (69.5, 70.6, 66.2, 65.3, 92.4, 78.8, None, None, None, None),
    "FastText offset (slides)": (49.7, 47.8, 43.0, 40.7, 96.6, 72.0, None, None, None, None),
}
PUBLISHED_LEXICAL: dict[str, tuple[float | None, ...]] = {  # macro, micro per set
    "RelBERT RoBERTa-base NCE (model card)": (None, 90.0, None, 83.7, None, 64.2, None, 94.0, None, 88.2),
    "RelBERT RoBERTa-large, manual (slides)": (91.7, 92.1, 71.2, 87.0, 68.4, 69.6, 88.0, 96.2, 90.9, 91.0),
    "GloVe cat (slides)": (92.9, 93.3, 42.8, 73.5, 56.9, 58.3, 88.8, 94.9, 86.3, 86.5),
    "FastText cat (slides)": (92.4, 92.9, 40.7, 72.4, 56.4, 57.9, 88.1, 93.8, 85.7, 85.5),
}
PUBLISHED_MAPPING = {"RelBERT RoBERTa-base NCE (model card)": 81.7}


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row(label: str, values: list[float | None]) -> str:
    return "| " + " | ".join([label, *(_cell(v) for v in values)]) + " |"


def _label(spec: str, model: Any) -> str:
    return f"{spec} (w {model.weight:g})" if isinstance(model, HybridEncoder) else spec


def render(results: dict[str, dict[str, Any]]) -> str:
    """Three Markdown tables in the paper's layout: measured rows first, then the published ones."""
    analogy = ["| Model | " + " | ".join(ANALOGY_HEAD) + " |", "|---|" + "---:|" * len(ANALOGY_HEAD)]
    for label, r in results.items():
        analogy.append(_row(label, [_pct(r.get("analogy", {}).get(n), "accuracy") for n in ANALOGY_COLUMNS]))
    analogy += [_row(label, list(v)) for label, v in PUBLISHED_ANALOGY.items()]
    head = " | ".join(f"{n} {m}" for n in LEXICAL_COLUMNS for m in ("macro", "micro"))
    lexical = [f"| Model | {head} |", "|---|" + "---:|" * (2 * len(LEXICAL_COLUMNS))]
    for label, r in results.items():
        cells = []
        for n in LEXICAL_COLUMNS:
            m = r.get("lexical_relation", {}).get(n)
            cells += [_pct(m, "f1_macro"), _pct(m, "f1_micro")]
        lexical.append(_row(label, cells))
    lexical += [_row(label, list(v)) for label, v in PUBLISHED_LEXICAL.items()]
    mapping = ["| Model | Accuracy |", "|---|---:|"]
    for label, r in results.items():
        mapping.append(_row(label, [_pct(r.get("relation_mapping", {}).get("relation_mapping"), "accuracy")]))
    mapping += [_row(label, [v]) for label, v in PUBLISHED_MAPPING.items()]
    return "\n\n".join("\n".join(t) for t in (analogy, lexical, mapping)) + "\n"


def _pct(metrics: dict[str, Any] | None, key: str) -> float | None:
    return None if not metrics or metrics.get(key) is None else 100 * float(metrics[key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="any load_model spec; repeat")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-items", type=int, default=None, help="subset per set (quick check)")
    parser.add_argument("--output", required=True, help="JSON file; the Markdown goes beside it (.md)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    loaded = {spec: load_model(spec) for spec in args.model}
    models = shared(loaded)
    results: dict[str, dict[str, Any]] = {}
    for spec, model in models.items():
        started = time.perf_counter()
        r = evaluate_all(model, data_dir=args.data_dir, tasks=tasks, max_items=args.max_items, show_progress_bar=False)
        r["wall_s"] = round(time.perf_counter() - started, 1)
        results[_label(spec, loaded[spec])] = r
        print(f"{spec}: {r['wall_s']} s, {r['pairs_embedded']} pairs embedded", flush=True)
        Path(args.output).write_text(json.dumps({"machine": machine(), "results": results}, indent=2) + "\n")
    table = render(results)
    Path(args.output).with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
