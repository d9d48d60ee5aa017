"""Open A:B::C:? over a 100,000-word vocabulary: relation models against word arithmetic, side by side in one run.

Questions: every Google and BATS question (the stem A:B, the answer's C; the target is the answer's D), and the
SAT-full / U2 / U4 questions turned into open ones (stem and answer pair alike) where D is in the vocabulary. A, B
and C are excluded from the answers, as usual. Methods, over the student's word table (the teacher's own word
vectors) unless said:

- ``3CosAdd`` and ``3CosMul``: the arithmetic alone;
- ``teacher re-rank``: the teacher re-ranking 3CosAdd's top 50 (``--teacher-limit`` questions per set: it costs a
  transformer pass per candidate);
- ``student``: the static student scoring every vocabulary word (exhaustive; ``--exhaustive-limit`` questions per
  set: about a second each for the large student);
- ``student + arithmetic``: the student's score plus ``blend`` × 3CosMul's, over 3CosMul's top ``N`` (the student
  re-ranking a large pool) — ``N`` and ``blend`` chosen on the **valid** questions (Google, BATS, SAT, U2, U4 valid),
  then read once on test.

acc@1, acc@10 and ms per query (one query at a time, 2 threads). A target outside the vocabulary is a miss.

    RELVEC_DATA=../shared/data python benchmarks/completion_eval.py --threads 2 --teacher runs/best-cpu/hybrid \\
        --student runs/best-cpu-static --output runs/completion_eval.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from relvec.completion import AnalogyCompleter, default_vocabulary
from relvec.data import load_analogy
from relvec.loading import load_model

from _common import machine

OPEN_SETS = ("google", "bats", "sat_full", "u2", "u4")
VALID_SETS = ("google", "bats", "sat", "u2", "u4")  # sat_full has no valid split; SAT's is the same questions' kind
POOLS = (500, 2000)
BLENDS = (0.0, 0.5, 1.0, 2.0)


def open_questions(name: str, split: str, data_dir: str | None, vocabulary: set[str]) -> list[tuple]:
    """(A:B, C, D) per question; for SAT-like sets only where D is in the vocabulary (Google / BATS: all)."""
    out = []
    for q in load_analogy(name, split, data_dir):
        c, d = q.choices[q.answer]
        if name in ("google", "bats") or d.lower() in vocabulary:
            out.append((q.stem, c, d))
    return out


def accuracy(completer: AnalogyCompleter, items: list[tuple], limit: int | None = None) -> dict[str, Any]:
    """acc@1 / acc@10 (lower-cased comparison) and ms per query, one query at a time."""
    chosen = items[:limit]
    hits1 = hits10 = 0
    started = time.perf_counter()
    for stem, c, d in chosen:
        try:
            words = [x.word.lower() for x in completer.complete(stem, c, 10)]
        except ValueError:  # a query word without a vector: a miss
            words = []
        hits1 += bool(words) and words[0] == d.lower()
        hits10 += d.lower() in words
    n = max(len(chosen), 1)
    return {
        "acc@1": round(100 * hits1 / n, 1),
        "acc@10": round(100 * hits10 / n, 1),
        "ms_per_query": round(1000 * (time.perf_counter() - started) / n, 1),
        "questions": len(chosen),
    }


def choose_pool_and_blend(student: Any, vocabulary: list[str], valid: dict[str, list], log: Any) -> tuple[int, float]:
    """The (pool size, blend) with the best mean acc@1 over the valid questions (ties: the smaller pool)."""
    best: tuple[float, int, float] | None = None
    for pool in POOLS:
        for blend in BLENDS:
            completer = AnalogyCompleter(student, vocabulary, method="mul", candidates=pool, blend=blend)
            scores = [accuracy(completer, items)["acc@1"] for items in valid.values()]
            mean = sum(scores) / len(scores)
            log(f"valid: pool {pool}, blend {blend:g}: acc@1 mean {mean:.1f} ({', '.join(f'{s:.1f}' for s in scores)})")
            if best is None or mean > best[0]:
                best = (mean, pool, blend)
    assert best is not None
    return best[1], best[2]


def valid_report(
    student: Any, vocabulary: list[str], valid: dict[str, list], chosen: tuple[int, float], args: Any, log: Any
) -> None:
    """The valid questions only: the chosen blend and the exhaustive student (``--valid-only``)."""
    pool, blend = chosen
    completers = {
        "blend": AnalogyCompleter(student, vocabulary, method="mul", candidates=pool, blend=blend),
        "exhaustive": AnalogyCompleter(student, vocabulary, exhaustive=True),
    }
    rows = {}
    for label, completer in completers.items():
        limit = None if label == "blend" else args.exhaustive_limit
        rows[label] = {n: accuracy(completer, items, limit) for n, items in valid.items()}
        log(f"valid {label}: " + ", ".join(f"{n} {r['acc@1']} / {r['acc@10']}" for n, r in rows[label].items()))
    result = {"machine": machine(), "split": "valid", "chosen_on_valid": {"pool": pool, "blend": blend}, "rows": rows}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", required=True, help="a static relation model (relvec distill)")
    parser.add_argument("--teacher", default=None, help="its teacher, for the re-ranking row")
    parser.add_argument("--teacher-limit", type=int, default=100, help="questions per set the teacher re-ranks")
    parser.add_argument(
        "--exhaustive-limit", type=int, default=200, help="questions per set the exhaustive student answers (~1 s each)"
    )
    parser.add_argument("--vocab-size", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", required=True)
    parser.add_argument(
        "--valid-only", action="store_true", help="the valid questions only (to compare students): no test read"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    vocabulary = default_vocabulary(args.vocab_size)
    known = set(vocabulary)
    student = load_model(args.student)
    log = lambda line: print(line, flush=True)  # noqa: E731
    valid = {n: open_questions(n, "valid", args.data_dir, known) for n in VALID_SETS}
    pool, blend = choose_pool_and_blend(student, vocabulary, valid, log)
    if args.valid_only:
        return valid_report(student, vocabulary, valid, (pool, blend), args, log)
    test = {n: open_questions(n, "test", args.data_dir, known) for n in OPEN_SETS}
    methods: dict[str, tuple[AnalogyCompleter, int | None]] = {
        "3CosAdd": (AnalogyCompleter(None, vocabulary, student.word_vectors(), method="add", candidates=0), None),
        "3CosMul": (AnalogyCompleter(None, vocabulary, student.word_vectors(), method="mul", candidates=0), None),
        f"student (exhaustive; first {args.exhaustive_limit} per set)": (
            AnalogyCompleter(student, vocabulary, exhaustive=True),
            args.exhaustive_limit,
        ),
        f"student + arithmetic (3CosMul top {pool}, blend {blend:g}; chosen on valid)": (
            AnalogyCompleter(student, vocabulary, method="mul", candidates=pool, blend=blend),
            None,
        ),
    }
    if args.teacher:
        teacher = load_model(args.teacher)
        completer = AnalogyCompleter(teacher, vocabulary, student.word_vectors(), method="add", candidates=50)
        methods[f"teacher re-rank (3CosAdd top 50; first {args.teacher_limit} per set)"] = (
            completer,
            args.teacher_limit,
        )
    result: dict[str, Any] = {
        "machine": machine(),
        "vocabulary": len(vocabulary),
        "questions": {n: len(items) for n, items in test.items()},
        "chosen_on_valid": {"pool": pool, "blend": blend},
        "rows": {},
    }
    for label, (completer, limit) in methods.items():
        result["rows"][label] = {n: accuracy(completer, items, limit) for n, items in test.items()}
        cells = " | ".join(f"{r['acc@1']} / {r['acc@10']}" for r in result["rows"][label].values())
        speed = max(r["ms_per_query"] for r in result["rows"][label].values())
        log(f"| {label} | {cells} | {speed} |")
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
