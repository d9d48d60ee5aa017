"""``relvec distill``: a static relation model distilled from a trained relvec model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from relvec.cli.arguments import add_dataclass_arguments, values_given


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from relvec.distill import DistillArguments

    parser = sub.add_parser(
        "distill",
        parents=[common],
        help="distil a model into a static relation model (word-vector speed)",
        description="Distil a trained relvec model (a hybrid or a relation encoder) into a static relation model: "
        "a pair network over the teacher's word vectors. The teacher embeds the training pairs once, in shards "
        "under --work-dir, so a killed run resumes.",
    )
    parser.add_argument("--show-config", action="store_true", help="print the resolved arguments as JSON and exit")
    add_dataclass_arguments(parser, DistillArguments)
    parser.set_defaults(handler=cmd_distill)


def cmd_distill(args: argparse.Namespace) -> int:
    from relvec.distill import DistillArguments, distill
    from relvec.files import refuse_file

    arguments = DistillArguments(**values_given(args, DistillArguments), data_dir=args.data_dir)
    if args.show_config:
        print(json.dumps(arguments.to_dict(), indent=2))
        return 0
    refuse_file(Path(arguments.output_dir))
    model = distill(arguments, log=lambda line: print(line, file=sys.stderr, flush=True))
    best = model.info.get("best_valid")
    print(f"saved {arguments.output_dir}: {len(model.words)} words, analogy valid {100 * best:.1f}", file=sys.stderr)
    return 0
