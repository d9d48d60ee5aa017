"""``relvec complete A:B C``: analogy completion over a vocabulary (A : B :: C : ?)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from relvec.cli.common import (
    check_words,
    json_line,
    load_model_from_args,
    model_args,
    parse_pair_argument,
    progress,
    vocabulary_args,
    vocabulary_from_args,
)
from relvec.completion import (
    DEFAULT_CANDIDATES,
    DEFAULT_VOCAB_SIZE,
    METHODS,
    AnalogyCompleter,
)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "complete",
        parents=[common],
        help="A:B C -> the words d with (C, d) relating like (A, B)",
        description="Analogy completion: word-vector arithmetic proposes candidates from a vocabulary, the "
        "relation model re-ranks them by cos(emb(A, B), emb(C, d)).",
    )
    model_args(parser)
    parser.add_argument("pair", help="the example pair, head:tail (e.g. paris:france)")
    parser.add_argument("words", nargs="+", help="one or more C words to complete")
    parser.add_argument("-k", type=int, default=10, help="answers per query")
    vocabulary_args(parser, DEFAULT_VOCAB_SIZE)
    parser.add_argument("--method", default="add", choices=list(METHODS), help="candidate arithmetic: 3CosAdd/3CosMul")
    parser.add_argument(
        "--candidates", type=int, default=DEFAULT_CANDIDATES, help="candidates re-ranked (0: arithmetic only)"
    )
    parser.add_argument(
        "--exhaustive",
        action="store_true",
        help="score every vocabulary word with the relation model instead of re-ranking candidates "
        "(a static relation model from `relvec distill`)",
    )
    parser.add_argument(
        "--blend",
        type=float,
        default=0.0,
        help="add this times a word's arithmetic score to the model's (re-ranking or --exhaustive)",
    )
    parser.add_argument(
        "--cache-dir", default=None, help="vocabulary vector cache (default: $RELVEC_CACHE or ~/.cache)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.set_defaults(handler=cmd_complete)


def default_cache_dir() -> Path:
    root = os.environ.get("RELVEC_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "relvec"
    return Path(root) / "vocabulary"


def cmd_complete(args: argparse.Namespace) -> int:
    if args.k < 1 or args.candidates < 0 or args.vocab_size < 1:
        raise ValueError("-k and --vocab-size must be positive and --candidates non-negative")
    pair = parse_pair_argument(args.pair)
    check_words(args.words, "C word")
    vocabulary = vocabulary_from_args(args)
    model = load_model_from_args(args)
    completer = AnalogyCompleter(
        model,
        vocabulary,
        method=args.method,
        candidates=args.candidates,
        batch_size=args.batch_size,
        cache_dir=args.cache_dir or default_cache_dir(),
        show_progress_bar=None if progress() else False,
        exhaustive=args.exhaustive,
        blend=args.blend,
    )
    for c, found in zip(args.words, completer.complete_many([(pair, c) for c in args.words], args.k), strict=True):
        if args.json:
            rows = [
                {"word": x.word, "score": round(x.score, 4), "offset_score": round(x.offset_score, 4)} for x in found
            ]
            print(json_line({"query": [*pair, c], "completions": rows}))
            continue
        print(f"{pair[0]} : {pair[1]} :: {c} : ?")
        for rank, x in enumerate(found, start=1):
            print(f"  {rank:>2}. {x.word:<20} {x.score:.3f}  (offset {x.offset_score:.3f})")
    return 0
