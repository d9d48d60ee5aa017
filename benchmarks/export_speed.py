"""Exported graphs vs PyTorch, side by side in one run: pairs/s, cosine to PyTorch fp32, and (``--accuracy``)
zero-shot analogy test accuracy of each variant.

Variants: torch fp32, torch bf16 (what "auto" runs on CPUs with native bf16), ONNX Runtime fp32 / int8,
OpenVINO fp32 / int8. Every variant encodes the same distinct analogy pairs (batch 64); rounds alternate
and the median round counts. Exports are written with ``relvec export`` (into the model folder, or a temporary
standalone folder for an installed backbone such as ``minilm``).

    RELVEC_DATA=../shared/data python benchmarks/export_speed.py --threads 2 --model minilm --model runs/best-cpu
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec import RelationEncoder
from relvec.backbones import canonical_name, local_path
from relvec.evaluation.suite import analogy_evaluator
from relvec.export import export_model

from _common import analogy_pairs, machine

VARIANTS = (
    ("torch fp32", "torch", None, "fp32"),
    ("torch bf16", "torch", None, "bf16"),
    ("onnx fp32", "onnx", None, "fp32"),
    ("onnx int8", "onnx", "int8", "fp32"),
    ("openvino fp32", "openvino", None, "fp32"),
    ("openvino int8", "openvino", "int8", "fp32"),
)
TEST_SETS = ("sat_full", "u2", "u4", "google", "bats")
_FILES = {("onnx", None): "onnx/model.onnx", ("onnx", "int8"): "onnx/model_int8.onnx"}
_FILES |= {("openvino", None): "openvino/openvino_model.xml", ("openvino", "int8"): "openvino/openvino_model_int8.xml"}


class Fixed:
    """A model with its precision fixed, so evaluators (which call ``encode`` plainly) run that variant."""

    def __init__(self, model: Any, precision: str) -> None:
        self.model, self.precision = model, precision
        self.embedding_dim, self.name_or_path = model.embedding_dim, model.name_or_path

    def encode(self, pairs: Any, **kwargs: Any) -> Any:
        kwargs["precision"] = self.precision
        return self.model.encode(pairs, **kwargs)


def variants(name: str, work: Path, reuse: bool = False) -> dict[str, Fixed]:
    source = Path(local_path(canonical_name(name)))
    folder = source if (source / "relvec_config.json").exists() else work / source.name
    if folder != source:  # an installed backbone: a standalone export per variant into a scratch folder
        RelationEncoder.from_pretrained(name).save_pretrained(folder)
    out = {}
    for label, backend, quantize, precision in VARIANTS:
        if backend != "torch" and not (reuse and (folder / _FILES[(backend, quantize)]).is_file()):
            started = time.perf_counter()
            export_model(folder, format=backend, quantize=quantize)
            print(f"{name}: exported {label} in {time.perf_counter() - started:.0f} s", flush=True)
        file_name = _FILES.get((backend, quantize))
        out[label] = Fixed(RelationEncoder.from_pretrained(folder, backend=backend, file_name=file_name), precision)
    return out


def run(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    models = variants(name, work, args.reuse)
    pairs = analogy_pairs(args.pairs)
    reference = models["torch fp32"].encode(pairs, show_progress_bar=False)
    times: dict[str, list[float]] = {label: [] for label in models}
    cosine = {}
    for round_ in range(args.rounds):
        for label, model in models.items():
            started = time.perf_counter()
            vectors = model.encode(pairs, show_progress_bar=False)
            times[label].append(time.perf_counter() - started)
            if round_ == 0:
                cos = (vectors * reference).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(reference, axis=1)
                cosine[label] = {"min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6)}
    rows = {}
    for label in models:
        rate = len(pairs) / statistics.median(times[label])
        rows[label] = {"pairs_per_s": round(rate, 1), "cosine_to_torch_fp32": cosine[label]}
    base = rows["torch bf16" if args.auto == "bf16" else "torch fp32"]["pairs_per_s"]
    for row in rows.values():
        row["vs_encode"] = round(row["pairs_per_s"] / base, 2)
    if args.accuracy:
        for label in args.accuracy.split(","):
            model = models[label]
            acc = {s: round(100 * analogy_evaluator(s, "test", None, None)(model)["accuracy"], 1) for s in TEST_SETS}
            rows[label]["analogy_test"] = acc
            print(name, label, acc, flush=True)
    return {"pairs": len(pairs), "rounds": args.rounds, "variants": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=None, help="repeatable (default: minilm)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accuracy", default="", help="comma list of variants to evaluate on the analogy test sets")
    parser.add_argument("--reuse", action="store_true", help="keep exports already in the model folder")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from relvec.precision import resolve_precision

    args.auto = resolve_precision("auto", torch.device("cpu"))
    report: dict[str, Any] = {"machine": machine(), "auto_precision": args.auto, "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as work:
        for name in args.model or ["minilm"]:
            report[name] = run(name, args, Path(work))
            print(json.dumps({name: report[name]}, indent=1), flush=True)
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
