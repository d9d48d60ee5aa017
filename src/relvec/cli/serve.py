"""``relvec serve MODEL``: relation embeddings over HTTP (see :mod:`relvec.serve`)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys

from relvec.cli.common import MODEL_HELP, load_model_from_args, model_options, vocabulary_args, vocabulary_from_args
from relvec.serve.limits import Limits


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "serve",
        parents=[common],
        help="serve a model over HTTP: /embed, /similarity, /analogy, /complete, /neighbours, /classify",
        description="An HTTP server (FastAPI + uvicorn, relvec[serve]) with dynamic batching, health, info and "
        "Prometheus metrics; OpenAPI docs at /docs. Model work runs off the event loop; the index, the classifier "
        "and the completion vocabulary load in the background (/health says 'warming' until they are ready).",
    )
    parser.add_argument("model", help=MODEL_HELP)
    model_options(parser, batch_size=False)
    parser.add_argument("--index", default=None, help="a neighbour index folder, for /neighbours and the map")
    parser.add_argument("--classifier", default=None, help="a classifier folder, for /classify")
    vocabulary_args(parser, 100_000)
    parser.add_argument("--no-complete", action="store_true", help="no /complete (no vocabulary built at startup)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to the network)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' on every endpoint but /health (default: $RELVEC_API_KEY, else none)",
    )
    defaults = Limits()
    for spec in dataclasses.fields(Limits):  # one flag per limit, its default and help from Limits itself
        if spec.metadata.get("flag", True):
            kind = int if isinstance(getattr(defaults, spec.name), int) else float
            flag = "--" + spec.name.replace("_", "-")
            parser.add_argument(flag, type=kind, default=getattr(defaults, spec.name), help=spec.metadata["help"])
    parser.set_defaults(handler=cmd_serve)


def limits_from_args(args: argparse.Namespace) -> Limits:
    """The :class:`Limits` the flags ask for (the others keep their defaults)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(Limits) if f.metadata.get("flag", True)}
    try:
        return Limits(**given)
    except ValueError as exc:  # name the flag, not the field
        raise ValueError(str(exc).replace("Limits.", "--").replace("_", "-")) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from relvec.classifier import RelationClassifier
    from relvec.code_index import open_index
    from relvec.extras import require
    from relvec.serve import create_app

    uvicorn = require("uvicorn", "relvec serve")
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in [1, 65535], got {args.port}")
    limits = limits_from_args(args)
    logging.basicConfig(level=logging.INFO, format="relvec: %(message)s", stream=sys.stderr)  # warm-up progress
    model = load_model_from_args(args)
    # heavy parts load in the background once the server runs (/health: warming); a missing folder fails now
    for flag, folder in (("--index", args.index), ("--classifier", args.classifier)):
        if folder and not os.path.isdir(folder):
            raise ValueError(f"{flag} {folder}: not a folder")
    index = (lambda: open_index(args.index)) if args.index else None
    classifier = (lambda: RelationClassifier.from_pretrained(args.classifier, model=model)) if args.classifier else None
    if args.vocab_size < 1:
        raise ValueError(f"--vocab-size must be positive, got {args.vocab_size}")
    api_key = args.api_key or os.environ.get("RELVEC_API_KEY") or None
    app = create_app(
        model,
        index=index,
        classifier=classifier,
        api_key=api_key,
        limits=limits,
        vocabulary=lambda: vocabulary_from_args(args),  # read in the background, with the vocabulary's vectors
        completion=not args.no_complete,
    )
    print(f"relvec: serving {args.model} on http://{args.host}:{args.port} (docs at /docs)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
