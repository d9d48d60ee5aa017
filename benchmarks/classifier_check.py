"""``RelationClassifier`` (fit, save, load, predict) against the evaluation suite, per lexical set (RESULTS.md).

For each set the suite's evaluator and the saved-then-reloaded classifier see the same embeddings (one
``EmbeddingCache``) and the same seed; their test F1 must agree, since both train the same grid and select on
the same validation split. Reports both F1s, the selected configuration and the classifier's fit/predict times.

    RELVEC_DATA=../shared/data python benchmarks/classifier_check.py --threads 2 --model runs/best-cpu \\
        --output runs/classifier_check.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import f1_score

from relvec.classifier import RelationClassifier
from relvec.data import LEXICAL_DATASETS, lexical_relation_path, load_lexical_relation
from relvec.evaluation.cache import EmbeddingCache
from relvec.evaluation.classification import LexicalRelationEvaluator
from relvec.loading import load_model

from _common import machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--datasets", default=",".join(LEXICAL_DATASETS))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = EmbeddingCache(load_model(args.model), show_progress_bar=False)
    result: dict[str, Any] = {"machine": machine(), "model": args.model, "sets": {}}
    for name in args.datasets.split(","):
        suite = LexicalRelationEvaluator.from_dataset(name, show_progress_bar=False)(model)
        train = load_lexical_relation(name, "train")
        valid = load_lexical_relation(name, "valid") if lexical_relation_path(name, "valid", None) else None
        test = load_lexical_relation(name, "test")
        started = time.perf_counter()
        fitted = RelationClassifier.fit(model, train, valid, show_progress_bar=False)
        fit_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            fitted.save_pretrained(Path(tmp) / "clf")
            loaded = RelationClassifier.from_pretrained(Path(tmp) / "clf", model=model)
        started = time.perf_counter()
        predicted = loaded.predict([(e.head, e.tail) for e in test])
        predict_s = time.perf_counter() - started
        truth = [e.relation for e in test]
        labels = sorted(set(truth) | set(predicted))
        row = {
            "suite_f1_micro": round(100 * suite["f1_micro"], 2),
            "suite_f1_macro": round(100 * suite["f1_macro"], 2),
            "classifier_f1_micro": round(100 * f1_score(truth, predicted, average="micro"), 2),
            "classifier_f1_macro": round(
                100 * float(np.mean(f1_score(truth, predicted, labels=labels, average=None, zero_division=0))), 2
            ),
            "suite_selected": suite["selected"],
            "classifier_selected": {k: loaded.config[k] for k in suite["selected"]},
            "fit_s": round(fit_s, 1),
            "predict_ms_per_pair": round(1000 * predict_s / len(test), 3),
        }
        result["sets"][name] = row
        print(name, row, flush=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
