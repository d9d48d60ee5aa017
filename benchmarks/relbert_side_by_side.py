"""relvec next to the reference ``relbert`` library (2.0.2), same recipe, same machine (BENCHMARKS.md).

relbert lives in its own virtual environment, never a relvec dependency (``--relbert-python``, default
``$RELBERT_PYTHON`` or ``../relbert-venv/bin/python``; the script says so and exits when it is absent):

    python -m venv ../relbert-venv && ../relbert-venv/bin/pip install torch==2.13.0
    ../relbert-venv/bin/pip install --no-deps relbert==2.0.2
    ../relbert-venv/bin/pip install transformers==4.57.6 "datasets<4" scikit-learn pandas tqdm

Both train MiniLM with NCE (τ 0.05, 10 positives, 64 negatives drawn from the relation's negatives and the
other relations' positives), learning rate 5e-5, 10 warm-up steps, the same template and pooling, for
``--epochs`` epochs, each in its own child process (peak RSS from ``/usr/bin/time``; relbert reads a temporary
folder holding SemEval ``train.jsonl``/``validation.jsonl``). Both saved folders are then scored by relvec's
analogy evaluator (relvec loads relbert checkpoints), and ``get_embedding`` is timed against ``encode`` on
the same 2,000 pairs, each in its own process.

    RELVEC_DATA=../shared/data python benchmarks/relbert_side_by_side.py --threads 2 --output runs/relbert_vs.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from relvec.backbones import local_path
from relvec.data import data_dir as resolve_data_dir
from relvec.evaluation.suite import analogy_evaluator
from relvec.loading import load_model
from relvec.prompts import resolve_template

from _common import analogy_pairs, machine

SETS = ("sat_full", "u2", "u4", "google", "bats")
TEMPLATE = resolve_template("d")
RELBERT_TRAIN = "import sys; from relbert.relbert_cl.train import main; sys.argv[0] = 'relbert-train'; main()"
RELBERT_THROUGHPUT = """
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
import relbert
pairs = json.load(open(sys.argv[2]))
model = relbert.RelBERT(sys.argv[1], template=sys.argv[4], aggregation_mode="average_no_mask")
model.get_embedding(pairs[:64])  # warm-up
start = time.perf_counter()
model.get_embedding(pairs, batch_size=64)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""
RELVEC_THROUGHPUT = """
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
from relvec.loading import load_model
pairs = [tuple(p) for p in json.load(open(sys.argv[2]))]
model = load_model(sys.argv[1], template=sys.argv[4])
model.encode(pairs[:64])  # warm-up
start = time.perf_counter()
model.encode(pairs, batch_size=64, show_progress_bar=False)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def timed(argv: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``argv`` under ``/usr/bin/time -v``: wall seconds and peak RSS (MB); the output goes to ``log``."""
    start = time.perf_counter()
    with log.open("w") as handle:
        done = subprocess.run(["/usr/bin/time", "-v", *argv], env=env, stdout=handle, stderr=subprocess.STDOUT)
    text = log.read_text(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}); see {log}:\n{text[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {"wall_s": round(time.perf_counter() - start, 1), "peak_rss_mb": round(int(rss.group(1)) / 1024, 1)}


def analogy(folder: str) -> dict[str, float]:
    model = load_model(folder)
    return {n: round(100 * analogy_evaluator(n, "test", None, None)(model)["accuracy"], 1) for n in SETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.environ.get("RELBERT_PYTHON") or str(Path(__file__).resolve().parents[2] / "relbert-venv/bin/python")
    parser.add_argument("--relbert-python", default=default)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="runs/relbert_vs", help="folder for both trained models and logs")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    if not Path(args.relbert_python).is_file():
        print(f"skipped: no relbert environment at {args.relbert_python} (see this script's docstring)")
        return
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    backbone = str(local_path("minilm"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(args.threads)}
    semeval = resolve_data_dir(None) / "semeval2012"
    result: dict[str, Any] = {"machine": machine(), "epochs": args.epochs, "threads": args.threads}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "semeval"
        data.mkdir()
        shutil.copy(semeval / "train.jsonl", data / "train.jsonl")
        shutil.copy(semeval / "valid.jsonl", data / "validation.jsonl")
        recipe = ["--num-positive", "10", "--num-negative", "64", "--temperature", "0.05"]
        relbert_argv = [args.relbert_python, "-c", RELBERT_TRAIN, "-o", str(work / "relbert"), "-m", backbone]
        relbert_argv += ["-t", TEMPLATE, "-e", str(args.epochs), "-b", "64", "-r", "5e-5", "-w", "10", "--loss", "nce"]
        relbert_argv += ["--aggregation-mode", "average_no_mask", "--data", str(data), "--epoch-save", "1000", *recipe]
        result["relbert"] = timed(relbert_argv, env, work / "relbert.log")
        relvec_argv = [sys.executable, "-m", "relvec", "train", "--threads", str(args.threads), "--backbone", "minilm"]
        relvec_argv += ["--template", "d", "--loss", "nce", "--epochs", str(args.epochs), "--learning-rate", "5e-5"]
        relvec_argv += ["--warmup-steps", "10", "--select-on", "last", "--output", str(work / "relvec"), *recipe]
        relvec_argv += ["--no-progress"]
        result["relvec"] = timed(relvec_argv, env, work / "relvec.log")
        pairs_file = Path(tmp) / "pairs.json"
        pairs_file.write_text(json.dumps([list(p) for p in analogy_pairs(2000)]))
        for name, python, code, folder in (
            ("relbert", args.relbert_python, RELBERT_THROUGHPUT, backbone),
            ("relvec", sys.executable, RELVEC_THROUGHPUT, "vanilla:minilm"),
        ):
            argv = [python, "-c", code, folder, str(pairs_file), str(args.threads), TEMPLATE]
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
            seconds = json.loads(out.strip().splitlines()[-1])["seconds"]
            result[name]["pairs_per_s"] = round(2000 / seconds, 1)
    for name in ("relbert", "relvec"):
        result[name]["s_per_epoch"] = round(result[name]["wall_s"] / args.epochs, 1)
    result["relbert"]["analogy_test"] = analogy(str(work / "relbert" / "model"))
    result["relvec"]["analogy_test"] = analogy(str(work / "relvec"))
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
