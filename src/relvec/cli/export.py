"""``relvec export FOLDER --format onnx|openvino [--quantize int8]`` (see :mod:`relvec.export`)."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "export",
        parents=[common],
        help="export a model to ONNX or OpenVINO (fp32 or int8), checked against PyTorch",
        description="Write the model's graph (backbone + relvec pooling) into FOLDER/onnx/ or FOLDER/openvino/ "
        "(a hybrid: its prompt part), or a standalone folder with --output; then load it with "
        "--runtime onnx|openvino or from_pretrained(..., backend=...).",
    )
    parser.add_argument("folder", help="a saved relvec model folder (relation encoder or hybrid)")
    parser.add_argument("--format", default="openvino", choices=["openvino", "onnx"], help="OpenVINO measured faster")
    parser.add_argument("--quantize", default=None, choices=["int8"], help="int8 weights (and activations)")
    parser.add_argument("--output", default=None, help="a standalone export folder (default: inside FOLDER)")
    parser.add_argument("--probe-pairs", type=int, default=256, help="pairs checked against PyTorch fp32")
    parser.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from relvec.encoders.exported import read_export_config
    from relvec.export import export_model

    if args.probe_pairs < 1:
        raise ValueError(f"--probe-pairs must be a positive integer, got {args.probe_pairs}")
    path = export_model(
        args.folder, args.output, format=args.format, quantize=args.quantize, probe_pairs=args.probe_pairs
    )
    name = path.relative_to(path.parents[1]).as_posix()
    details = read_export_config(path.parents[1])["exports"].get(name, {})
    summary = {"file": str(path), **{k: details.get(k) for k in ("format", "quantize", "cosine_min", "cosine_mean")}}
    print(json.dumps(summary))
    print(f"relvec: wrote {path}; load it with --runtime {args.format}", file=sys.stderr)
    return 0
