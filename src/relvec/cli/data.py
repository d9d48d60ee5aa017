"""``relvec data wordnet``: relational training data from WordNet 3.0 (SemEval format), optionally mixed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from relvec.data import load_relation_similarity
from relvec.data.relation_similarity import write_relation_records
from relvec.data.wordnet import KINDS, benchmark_pairs, load_wordnet, mix, wordnet_pairs, wordnet_records
from relvec.validation import split_list


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("data", help="build training data")
    actions = parser.add_subparsers(dest="action", required=True)
    wn = actions.add_parser(
        "wordnet",
        parents=[common],
        help="WordNet relations as relation-similarity records (train.jsonl, valid.jsonl)",
        description="Every pair found in an analogy or lexical-relation benchmark (any split, either order) is "
        "left out. With --mix-semeval W the folder holds SemEval-2012's train relations plus W times as many "
        "WordNet relations, and SemEval's own valid split (so model selection is unchanged).",
    )
    wn.add_argument("--output", required=True, help="folder for train.jsonl and valid.jsonl")
    wn.add_argument("--kinds", default=",".join(KINDS), help="comma list of WordNet relations")
    wn.add_argument("--per-relation", type=int, default=30, help="pairs kept per relation (seeded sample)")
    wn.add_argument("--min-pairs", type=int, default=10, help="relations with fewer usable pairs are left out")
    wn.add_argument("--min-count", type=int, default=1, help="least WordNet sense count of each word")
    wn.add_argument("--mix-semeval", type=float, default=None, help="weight W: SemEval + W x 79 WordNet relations")
    wn.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=cmd_data)


def cmd_data(args: argparse.Namespace) -> int:
    exclude = benchmark_pairs(args.data_dir)
    pairs = wordnet_pairs(load_wordnet(), split_list(args.kinds), min_count=args.min_count)
    train, valid = wordnet_records(pairs, exclude, args.per_relation, args.min_pairs, seed=args.seed)
    if args.mix_semeval is not None:
        semeval = load_relation_similarity("semeval2012", "train", args.data_dir)
        train = mix(semeval, train, args.mix_semeval, seed=args.seed)
        valid = load_relation_similarity("semeval2012", "valid", args.data_dir)
    output = Path(args.output)
    write_relation_records(output / "train.jsonl", train)
    write_relation_records(output / "valid.jsonl", valid)
    pairs_kept = sum(len(r.positives) for r in train)
    print(
        f"wrote {output}: {len(train)} train relations ({pairs_kept} pairs), {len(valid)} valid relations; "
        f"{len(exclude)} benchmark pairs (both orders) excluded",
        file=sys.stderr,
    )
    return 0
