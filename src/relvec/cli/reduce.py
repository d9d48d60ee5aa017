"""``relvec reduce MODEL --dim K``: compact vectors (a PCA stored in the model's folder)."""

from __future__ import annotations

import argparse
import sys

from relvec.cli.common import MODEL_HELP, load_model_from_args, model_options, progress, read_pairs_file


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "reduce",
        parents=[common],
        help="fit compact vectors (PCA of the model's own vectors) into a model folder",
        description="Fit a PCA of the model's vectors of its training pairs (SemEval-2012 and lexical train/valid, "
        "never a test split) and store it in the folder: every size up to --dim is then one flag away "
        "(--dim K on any model command, load_model(folder, dim=K) in Python).",
    )
    parser.add_argument("model", help="a model folder (" + MODEL_HELP + ")")
    model_options(parser, dim=False)
    parser.add_argument(
        "--dim", dest="max_dim", type=int, required=True, help="the largest size to keep (every smaller one comes free)"
    )
    parser.add_argument("--input", default=None, help="more pairs to fit on (TSV or JSONL, as for relvec embed)")
    parser.add_argument("--max-pairs", type=int, default=50_000, help="fit on a seeded sample of at most this many")
    parser.add_argument(
        "--center", action="store_true", help="a centred PCA (default: uncentred, measured better on analogy valid)"
    )
    parser.set_defaults(handler=cmd_reduce)


def cmd_reduce(args: argparse.Namespace) -> int:
    from relvec.reduce import fitting_pairs, reduce_model

    if args.max_dim < 1 or args.max_pairs < 2:
        raise ValueError(f"--dim must be positive and --max-pairs at least 2, got {args.max_dim} and {args.max_pairs}")
    extra = read_pairs_file(args.input) if args.input else []
    pairs = fitting_pairs(args.data_dir, extra, args.max_pairs)
    model = load_model_from_args(args)
    reduction = reduce_model(
        model, args.model, args.max_dim, pairs, args.batch_size, show_progress_bar=progress(), center=args.center
    )
    print(
        f"{args.model}: PCA {reduction.source_dim} -> {reduction.max_dim} fitted on {len(pairs)} pairs", file=sys.stderr
    )
    for k in (256, 128, 64, 32):
        if k <= reduction.max_dim:
            print(f"  {k:>4} dims keep {100 * sum(reduction.explained[:k]):.1f}% of the variance", file=sys.stderr)
    return 0
