"""How many of each analogy test set's pairs (either order, lowercased) are SemEval-2012 positives: those of the
train split, and those only in the valid split (what ``--train-splits train,valid`` adds).

    RELVEC_DATA=../shared/data python benchmarks/training_overlap.py
"""

from __future__ import annotations

import argparse

from relvec.data import load_analogy, load_relation_similarity
from relvec.files import write_json

from _common import parse_with_common

SETS = ("sat_full", "u2", "u4", "google", "bats")


def lowered(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Pairs lowercased, in both orders."""
    out = {(a.lower(), b.lower()) for a, b in pairs}
    return out | {(b, a) for a, b in out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = parse_with_common(parser)
    train = {p for r in load_relation_similarity("semeval2012", "train", args.data_dir) for p in r.positives}
    valid = {p for r in load_relation_similarity("semeval2012", "valid", args.data_dir) for p in r.positives} - train
    train, valid = lowered(train), lowered(valid)
    rows = {}
    for name in SETS:
        pairs = {
            (a.lower(), b.lower()) for q in load_analogy(name, "test", args.data_dir) for a, b in (q.stem, *q.choices)
        }
        rows[name] = {"pairs": len(pairs), "train": len(pairs & train), "valid only": len(pairs & valid)}
        print(name, rows[name], flush=True)
    if args.output:
        write_json(args.output, rows)


if __name__ == "__main__":
    main()
