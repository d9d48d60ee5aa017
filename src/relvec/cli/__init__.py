"""The ``relvec`` command line: a thin layer over the Python API, one module per command group."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch
import transformers

from relvec.cli import classify, complete, data, embed, evaluate, models, neighbours, push, train
from relvec.cli.common import common_parser, parse_pair_argument, read_pairs_file

__all__ = ["build_parser", "main", "parse_pair_argument", "read_pairs_file"]


def build_parser() -> argparse.ArgumentParser:
    common = common_parser()
    parser = argparse.ArgumentParser(prog="relvec", description="Relation embeddings for word pairs.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (embed, evaluate, neighbours, complete, classify, models, train, data, push):
        group.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for commands that relaunch themselves
    try:
        _setup(args)
        return args.handler(args)
    except KeyboardInterrupt:
        print("relvec: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"relvec: error: {exc}", file=sys.stderr)
        return 1


def _setup(args: argparse.Namespace) -> None:
    """The only place relvec changes global state: library logging and torch threads, for the CLI."""
    transformers.logging.set_verbosity_error()
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
