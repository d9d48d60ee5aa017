"""``relvec similarity A:B C:D …`` and ``relvec analogy STEM CHOICE …``: one answer, no data file."""

from __future__ import annotations

import argparse
import sys

from relvec.cli.common import json_line, load_model_from_args, model_args, parse_pair_argument


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    commands = (
        (
            "similarity",
            "cosine of one pair with others: relvec similarity a:b c:d e:f",
            "Relational similarity: the cosine of the first pair's embedding with each of the others'.",
            ("pair", "the reference pair, head:tail"),
            ("others", "pairs to compare with it, head:tail"),
            cmd_similarity,
        ),
        (
            "analogy",
            "answer one analogy question: relvec analogy STEM CHOICE...",
            "Answer one analogy question zero-shot: the choice whose relation is most like the stem's.",
            ("stem", "the question's pair, head:tail"),
            ("choices", "candidate pairs, head:tail (two or more)"),
            cmd_analogy,
        ),
    )
    for name, help_text, description, (first, first_help), (rest, rest_help), handler in commands:
        parser = sub.add_parser(name, parents=[common], help=help_text, description=description)
        parser.add_argument(first, help=first_help)
        parser.add_argument(rest, nargs="+", help=rest_help)
        model_args(parser)
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
        parser.set_defaults(handler=handler)


def _cosines(args: argparse.Namespace, first: str, rest: list[str]) -> tuple[tuple[str, str], list, list[float]]:
    import numpy as np

    pair = parse_pair_argument(first)
    others = [parse_pair_argument(p) for p in rest]
    model = load_model_from_args(args)
    vectors = np.asarray(
        model.encode([pair, *others], batch_size=args.batch_size, precision=args.precision, normalize=True),
        dtype=np.float64,
    )
    return pair, others, [float(x) for x in vectors[1:] @ vectors[0]]


def cmd_similarity(args: argparse.Namespace) -> int:
    pair, others, scores = _cosines(args, args.pair, args.others)
    if args.json:
        rows = [{"pair": list(o), "similarity": round(s, 6)} for o, s in zip(others, scores, strict=True)]
        print(json_line({"pair": list(pair), "scores": rows}))
        return 0
    for other, score in zip(others, scores, strict=True):
        print(f"{pair[0]}:{pair[1]}\t{other[0]}:{other[1]}\t{score:.4f}")
    return 0


def cmd_analogy(args: argparse.Namespace) -> int:
    if len(args.choices) < 2:
        raise ValueError(f"analogy: give at least two choices after the stem, got {len(args.choices)}")
    stem, choices, scores = _cosines(args, args.stem, args.choices)
    best = max(range(len(scores)), key=scores.__getitem__)
    if args.json:
        rows = [{"choice": list(c), "score": round(s, 6)} for c, s in zip(choices, scores, strict=True)]
        print(json_line({"stem": list(stem), "answer": best, "choices": rows}))
        return 0
    for i, (choice, score) in enumerate(zip(choices, scores, strict=True)):
        print(f"{'*' if i == best else ' '} {choice[0]}:{choice[1]}\t{score:.4f}")
    print(f"answer: {choices[best][0]}:{choices[best][1]}", file=sys.stderr)
    return 0
