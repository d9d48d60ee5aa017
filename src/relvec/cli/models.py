"""``relvec hybrid`` (join a model with static offsets) and ``relvec info`` (describe a model)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from relvec.cli.common import load_model_from_args, model_args, progress
from relvec.encoders.exported import read_export_config
from relvec.encoders.loading import load_model
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
    info.add_argument("model")
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
    model = load_model(args.model)
    if callable(getattr(model, "describe", None)):  # a model kind that describes itself
        for key, value in {"model": args.model, **model.describe()}.items():
            print(f"{key:<15} {value}")
        return 0
    if not hasattr(model, "backbone"):
        static = getattr(model, "static", model)
        rows: dict[str, Any] = {"model": args.model, "model_type": model.model_type}
        if static is not model:  # hybrid
            rows |= {"prompt_model": model.prompt.name_or_path, "weight": f"{model.weight:g}"}
        rows |= {
            "embedding_dim": model.embedding_dim,
            "vectors": static.vectors.name or "-",
            # a sentence encoder's word vectors know every term: there is no fixed vocabulary to count
            "vocabulary": len(words) if (words := getattr(static.vectors, "words", None)) is not None else "open",
        }
        for key, value in rows.items():
            print(f"{key:<15} {value}")
        return 0
    cfg = model.config
    graph = getattr(model, "graph", None)
    if graph is not None:  # an exported model: the graph runs, there are no PyTorch weights loaded
        architecture, parameters = f"{graph.backend} graph {graph.name}", "-"
    else:
        architecture = type(model.backbone).__name__
        parameters = f"{sum(p.numel() for p in model.backbone.parameters()) / 1e6:.1f}M"
    rows = {
        "model": args.model,
        "backbone": cfg.backbone or "-",
        "architecture": architecture,
        "parameters": parameters,
        "embedding_dim": model.embedding_dim,
        "template": cfg.template,
        "prompt": f"{cfg.prompt['method']} {cfg.prompt['shape']}" if cfg.prompt else "manual",
        "pooling": cfg.pooling,
        "max_length": cfg.max_length,
        "format_version": cfg.format_version,
        "relvec_version": cfg.relvec_version or "-",
        "trained": "yes" if cfg.training else "no",
    }
    if Path(args.model).is_dir():
        for name, export in read_export_config(args.model)["exports"].items():
            agreement = f"min {export.get('cosine_min')} mean {export.get('cosine_mean')}"
            rows[f"export {name}"] = f"cosine to torch fp32 {agreement}"
    for key, value in rows.items():
        print(f"{key:<15} {value}")
    if cfg.training:
        print(json.dumps(cfg.training, indent=2, ensure_ascii=False))
    return 0
