"""``relvec hybrid`` (join a model with static offsets) and ``relvec info`` (describe a model)."""

from __future__ import annotations

import argparse
import json
import sys

from relvec.cli.common import MODEL_HELP, load_model_from_args, model_args, model_options, progress
from relvec.recipes import (
    DEFAULT_SELECT_ON,
    DEFAULT_WEIGHTS,
    build_selected_hybrid,
    check_out_of_sample,
    parse_weights,
)
from relvec.validation import split_list


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    hybrid = sub.add_parser("hybrid", parents=[common], help="join a model with static word-vector offsets")
    model_args(hybrid)
    hybrid.add_argument(
        "--vectors",
        default="glove-6b-50d",
        help="glove-6b-50d, encoder:BACKBONE (word vectors from a sentence encoder, e.g. encoder:mpnet) "
        "or a saved static-offset folder",
    )
    hybrid.add_argument("--weights", default=DEFAULT_WEIGHTS, help="candidate weights (comma list)")
    hybrid.add_argument(
        "--bidirectional",
        action="store_true",
        help="prompt part [p(a,b); p(b,a)]/√2: bidirectional scoring built into the embedding",
    )
    hybrid.add_argument(
        "--select-on", default=DEFAULT_SELECT_ON, help="analogy sets whose *valid* split selects the weight"
    )
    hybrid.add_argument("--output", required=True, help="folder for the selected hybrid model")
    hybrid.set_defaults(handler=cmd_hybrid)

    info = sub.add_parser("info", parents=[common], help="describe a model")
    info.add_argument("model", help=MODEL_HELP)
    model_options(info, batch_size=False)
    info.set_defaults(handler=cmd_info)


def cmd_hybrid(args: argparse.Namespace) -> int:
    weights = parse_weights(args.weights)
    names = split_list(args.select_on)
    check_out_of_sample(args.model, names)
    prompt = load_model_from_args(args)
    model, rows = build_selected_hybrid(
        prompt,
        args.vectors,
        weights,
        names,
        args.output,
        args.data_dir,
        None,
        args.batch_size,
        progress(),
        bidirectional=args.bidirectional,
    )
    print("weight  " + "".join(f"{n[:12]:>13}" for n in [*names, "mean"]))
    for row in rows:
        mark = "  <- selected" if row["weight"] == model.weight else ""
        print(f"{row['weight']:<8g}" + "".join(f"{100 * row[n]:>13.1f}" for n in [*names, "mean"]) + mark)
    print(f"saved the hybrid model (weight {model.weight:g}, chosen on valid splits) to {args.output}", file=sys.stderr)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    model = load_model_from_args(args)
    for key, value in {"model": args.model, **model.describe()}.items():
        if isinstance(value, dict):  # a relation encoder's training record
            print(json.dumps(value, indent=2, ensure_ascii=False))
        else:
            print(f"{key:<15} {value}")
    return 0
