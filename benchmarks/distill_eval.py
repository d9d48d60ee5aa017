"""A distilled static relation model against its teacher, side by side in one run (RESULTS.md / BENCHMARKS.md,
"Static relation models").

Quality: analogy accuracy on the valid splits (what chose the student's epoch) and, once, on the test splits,
with the share of test pairs that have a word outside the student's table; optionally lexical classification.
Speed: the teacher's `encode` and the student's on in-vocabulary pairs (the same pairs for the ratio) and on
out-of-vocabulary pairs (the backbone computes the new words), load time and folder size. Optionally exhaustive
completion on Google / BATS test (acc@1, acc@10, ms per query) and mining over every ordered pair of a vocabulary.

    RELVEC_DATA=../shared/data python benchmarks/distill_eval.py --threads 2 --teacher runs/minilm-quick/hybrid \\
        --student runs/static-100k --completion --mine --output runs/distill_eval.json
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from completion import queries, score

from relvec.completion import AnalogyCompleter, default_vocabulary
from relvec.data import ANALOGY_VALID_SETS, LEXICAL_DATASETS
from relvec.evaluation import evaluate_all
from relvec.evaluation.suite import analogy_evaluator
from relvec.files import write_json
from relvec.loading import load_model
from relvec.mining import mine_pairs
from relvec.precision import resolve_precision

from _common import analogy_pairs, machine

TEST_SETS = ("sat_full", "u2", "u4", "google", "bats")
SEEDS = (("barista", "coffee"), ("duck", "duckling"), ("dog", "dogs"))


def analogy(model: Any, split: str, names: tuple[str, ...], data_dir: str | None) -> dict[str, float]:
    out = {n: round(100 * analogy_evaluator(n, split, data_dir, None)(model)["accuracy"], 1) for n in names}
    out["mean"] = round(float(np.mean(list(out.values()))), 1)
    return out


def oov_share(student: Any, data_dir: str | None) -> float:
    from relvec.data import load_analogy

    pairs = [p for n in TEST_SETS for q in load_analogy(n, "test", data_dir) for p in (q.stem, *q.choices)]
    return round(100 * sum(a not in student.index or b not in student.index for a, b in pairs) / len(pairs), 1)


def rate(encode: Any, pairs: list, repeats: int = 3) -> float:
    """Median pairs/s of ``encode(pairs)`` over ``repeats`` runs (the first run warms caches up)."""
    encode(pairs[: min(len(pairs), 256)])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        encode(pairs)
        times.append(time.perf_counter() - start)
    return len(pairs) / float(np.median(times))


def speed(teacher: Any, student: Any, data_dir: str | None, n_teacher: int, n_student: int) -> dict[str, Any]:
    pairs = analogy_pairs(n_teacher, data_dir=data_dir)
    known = student.word_table.index
    in_table = [p for p in pairs if p[0] in known and p[1] in known]
    teacher_rate = rate(lambda p: teacher.encode(p, show_progress_bar=False), in_table, repeats=1)
    student_same = rate(lambda p: student.encode(p), in_table)
    rng = np.random.default_rng(0)
    words = student.words
    many = [(words[i], words[j]) for i, j in rng.integers(0, len(words), size=(n_student, 2)) if i != j]
    student_many = rate(lambda p: student.encode(p), many)
    student_fp32 = rate(lambda p: student.encode(p, precision="fp32"), many)
    heads = torch.as_tensor(rng.integers(0, len(words), size=n_student))
    tails = torch.as_tensor(rng.integers(0, len(words), size=n_student))
    rows = rate(lambda _: student.encode_rows(heads, tails), list(range(n_student)))
    fresh = [(f"zorblat{i}", f"quenvix{i}") for i in range(500)]
    start = time.perf_counter()
    student.encode(fresh)
    oov = len(fresh) / (time.perf_counter() - start)
    return {
        "teacher_pairs_per_s": round(teacher_rate, 1),
        "student_pairs_per_s_same_pairs": round(student_same, 1),
        "student_pairs_per_s": round(student_many, 1),
        "student_pairs_per_s_fp32": round(student_fp32, 1),
        "precision_auto": resolve_precision("auto", torch.device("cpu")),
        "flops_per_pair": student.network.flops_per_pair() * (2 if student.bidirectional else 1),
        "student_rows_pairs_per_s": round(rows, 1),
        "ratio_same_pairs": round(student_same / teacher_rate, 1),
        "ratio": round(student_many / teacher_rate, 1),
        "oov_pairs_per_s_both_words_new": round(oov, 1),
        "pairs_timed": {"teacher": len(in_table), "student": len(many)},
    }


def completion(student: Any, teacher: Any, data_dir: str | None, vocab_size: int, limit: int | None) -> dict:
    vocabulary = default_vocabulary(vocab_size)
    out: dict[str, Any] = {}
    for name in ("google", "bats"):
        items = queries(name, data_dir, limit)
        out[name] = {
            "3CosAdd": score(AnalogyCompleter(student, vocabulary, candidates=0, method="add"), items),
            "3CosMul": score(AnalogyCompleter(student, vocabulary, candidates=0, method="mul"), items),
            "student exhaustive": score(AnalogyCompleter(student, vocabulary, exhaustive=True), items, batch=1),
            "teacher re-rank 50": score(
                AnalogyCompleter(teacher, vocabulary, word_vectors=student.word_vectors()), items
            ),
        }
    return out


def mining(student: Any, vocab_size: int, seeds: list[tuple[str, str]]) -> dict[str, Any]:
    vocabulary = default_vocabulary(vocab_size)
    out: dict[str, Any] = {"vocabulary": len(vocabulary)}
    for seed in seeds:
        start = time.perf_counter()
        found = mine_pairs(student, vocabulary, seed, k=10)
        out[":".join(seed)] = {
            "seconds": round(time.perf_counter() - start, 1),
            "top": [f"{m.pair[0]}:{m.pair[1]} {m.score:.3f}" for m in found],
        }
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--student", action="append", required=True)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-test", action="store_true", help="valid splits only (while choosing)")
    parser.add_argument("--classification", default="", help="comma list of lexical sets (slow)")
    parser.add_argument("--completion", action="store_true")
    parser.add_argument("--completion-vocab", type=int, default=100_000)
    parser.add_argument("--completion-limit", type=int, default=None)
    parser.add_argument("--mine", action="store_true")
    parser.add_argument("--mine-vocab", type=int, default=10_000)
    parser.add_argument("--mine-seeds", default=",".join(":".join(s) for s in SEEDS), help="comma list of a:b")
    parser.add_argument("--speed-pairs", type=int, default=1500)
    parser.add_argument("--output", default="runs/distill_eval.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    teacher = load_model(args.teacher)
    report: dict[str, Any] = {"machine": machine(), "teacher": args.teacher, "date": time.strftime("%Y-%m-%d")}
    report["teacher_valid"] = analogy(teacher, "valid", ANALOGY_VALID_SETS, args.data_dir)
    if not args.no_test:
        report["teacher_test"] = analogy(teacher, "test", TEST_SETS, args.data_dir)
    lexical = [s for s in args.classification.split(",") if s]
    if lexical:
        assert all(s in LEXICAL_DATASETS for s in lexical)
        done = evaluate_all(teacher, args.data_dir, tasks=["lexical_relation"], lexical=lexical)
        report["teacher_classification"] = {k: v["f1_micro"] for k, v in done["lexical_relation"].items()}
    for path in args.student:
        start = time.perf_counter()
        student = load_model(path)
        entry: dict[str, Any] = {"load_s": round(time.perf_counter() - start, 2)}
        entry["size_mb"] = round(sum(f.stat().st_size for f in Path(path).iterdir()) / 2**20, 1)
        entry["pairs"] = student.info.get("pairs")
        entry["valid"] = analogy(student, "valid", ANALOGY_VALID_SETS, args.data_dir)
        if not args.no_test:
            entry["test"] = analogy(student, "test", TEST_SETS, args.data_dir)
            entry["test_oov_pair_share"] = oov_share(student, args.data_dir)
            entry["retention_test"] = {
                k: round(100 * entry["test"][k] / report["teacher_test"][k], 1) for k in TEST_SETS
            }
        if lexical:
            done = evaluate_all(student, args.data_dir, tasks=["lexical_relation"], lexical=lexical)
            entry["classification"] = {k: v["f1_micro"] for k, v in done["lexical_relation"].items()}
        entry["speed"] = speed(teacher, student, args.data_dir, args.speed_pairs, 200_000)
        if args.completion:
            entry["completion"] = completion(
                student, teacher, args.data_dir, args.completion_vocab, args.completion_limit
            )
        if args.mine:
            seeds = [tuple(x.split(":")) for x in args.mine_seeds.split(",") if x]
            entry["mining"] = mining(student, args.mine_vocab, seeds)
        report[path] = entry
        print(json.dumps({path: entry}, indent=1), flush=True)
    write_json(args.output, report)
    print(json.dumps({k: v for k, v in report.items() if k.startswith("teacher")}, indent=1))


if __name__ == "__main__":
    main()
