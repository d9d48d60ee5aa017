"""``relvec serve MODEL``: relation embeddings over HTTP (see :mod:`relvec.serve`)."""

from __future__ import annotations

import argparse
import os
import sys

from relvec.cli.common import MODEL_HELP, runtime_arg


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "serve",
        parents=[common],
        help="serve a model over HTTP: /embed, /similarity, /analogy, /complete, /neighbours, /classify",
        description="An HTTP server (FastAPI + uvicorn, relvec[serve]) with dynamic batching, health, info and "
        "Prometheus metrics; OpenAPI docs at /docs.",
    )
    parser.add_argument("model", help=MODEL_HELP)
    runtime_arg(parser)
    parser.add_argument("--index", default=None, help="a neighbour index folder, for /neighbours")
    parser.add_argument("--classifier", default=None, help="a classifier folder, for /classify")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to the network)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' on every endpoint but /health (default: $RELVEC_API_KEY, else none)",
    )
    parser.add_argument("--max-pairs", type=int, default=1024, help="pairs per request (413 beyond)")
    parser.add_argument("--max-batch-pairs", type=int, default=512, help="pairs per model call")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a batch waits for more requests")
    parser.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from relvec.classifier import RelationClassifier
    from relvec.extras import require
    from relvec.loading import load_model
    from relvec.search import RelationIndex
    from relvec.serve import Limits, create_app

    uvicorn = require("uvicorn", "relvec serve")
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in [1, 65535], got {args.port}")
    limits = Limits(max_pairs=args.max_pairs, max_batch_pairs=args.max_batch_pairs, max_wait_ms=args.max_wait_ms)
    model = load_model(args.model, backend=args.runtime)
    index = RelationIndex.load(args.index) if args.index else None
    classifier = RelationClassifier.from_pretrained(args.classifier, model=model) if args.classifier else None
    api_key = args.api_key or os.environ.get("RELVEC_API_KEY") or None
    app = create_app(model, index=index, classifier=classifier, api_key=api_key, limits=limits)
    print(f"relvec: serving {args.model} on http://{args.host}:{args.port} (docs at /docs)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
