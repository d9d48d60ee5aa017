"""The ``relvec`` command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from relvec.backbones import DEFAULT_BACKBONE
from relvec.data import ANALOGY_DATASETS, DataFormatError, iter_jsonl

if TYPE_CHECKING:
    from relvec.training import TrainingArguments


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show full tracebacks")
    common.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    common.add_argument("--data-dir", default=None, help="benchmark data directory (default: $RELVEC_DATA)")
    return common


def _model_args(parser: argparse.ArgumentParser, multiple: bool = False) -> None:
    if multiple:
        parser.add_argument(
            "--model", action="append", help="model to evaluate; repeat to compare side by side (default: minilm)"
        )
    else:
        parser.add_argument("--model", default=DEFAULT_BACKBONE, help="relvec folder, backbone folder, alias or hub id")
    parser.add_argument("--template", default=None, help="template name (a-e) or custom; plain backbones only")
    parser.add_argument("--pooling", default=None, choices=["mask", "average", "average_no_mask"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="relvec", description="Relation embeddings for word pairs.")
    sub = parser.add_subparsers(dest="command", required=True)

    embed = sub.add_parser("embed", parents=[common], help="embed word pairs")
    _model_args(embed)
    embed.add_argument("pairs", nargs="*", help="pairs as head:tail")
    embed.add_argument("--input", help="TSV (head<TAB>tail) or JSONL ({head, tail} or [head, tail]) file")
    embed.add_argument("--output", help=".npy or .jsonl (default: JSONL on stdout)")
    embed.add_argument("--normalize", action="store_true", help="L2-normalise the vectors")

    evaluate = sub.add_parser("eval", help="evaluate a model")
    tasks = evaluate.add_subparsers(dest="task", required=True)
    analogy = tasks.add_parser("analogy", parents=[common], help="zero-shot analogy questions")
    _model_args(analogy, multiple=True)
    analogy.add_argument("--datasets", default="sat_full,u2,u4,google,bats", help="comma list of names or .jsonl paths")
    analogy.add_argument("--split", default="test", choices=["valid", "test"])
    direction = analogy.add_mutually_exclusive_group()
    direction.add_argument("--reverse", action="store_true", help="embed pairs reversed (b, a)")
    direction.add_argument("--bidirectional", action="store_true", help="average forward and reversed scores")
    analogy.add_argument("--output", default="analogy_results.json", help="JSON file for the full results")

    info = sub.add_parser("info", parents=[common], help="describe a model")
    info.add_argument("model")

    add_train_arguments(sub.add_parser("train", parents=[common], help="fine-tune a relation encoder"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _setup(args)
        handler = {"embed": cmd_embed, "eval": cmd_eval, "info": cmd_info, "train": cmd_train}[args.command]
        return handler(args)
    except KeyboardInterrupt:
        print("relvec: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"relvec: error: {exc}", file=sys.stderr)
        return 1


def _setup(args: argparse.Namespace) -> None:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)


def _load_model(args: argparse.Namespace, name: str | None = None) -> Any:
    from relvec.model import RelationEncoder

    return RelationEncoder.from_pretrained(name or args.model, template=args.template, pooling=args.pooling)


# ---------------------------------------------------------------------------- embed
def parse_pair_argument(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"pair {text!r} must look like head:tail (use --input for words containing ':')")
    return parts[0], parts[1]


def read_pairs_file(path: str | Path) -> list[tuple[str, str]]:
    path = Path(path)
    if path.suffix == ".jsonl":
        pairs = []
        for number, obj in iter_jsonl(path):
            if "head" not in obj or "tail" not in obj:
                raise DataFormatError(f"{path}:{number}: expected fields 'head' and 'tail'")
            pairs.append((obj["head"], obj["tail"]))
        return pairs
    pairs = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 2:
                raise DataFormatError(f"{path}:{number}: expected two tab-separated columns, got {len(cols)}")
            pairs.append((cols[0], cols[1]))
    return pairs


def cmd_embed(args: argparse.Namespace) -> int:
    from relvec.model import validate_pairs

    pairs = [parse_pair_argument(p) for p in args.pairs]
    if args.input:
        pairs += read_pairs_file(args.input)
    if not pairs:
        raise ValueError("no pairs given: pass head:tail arguments or --input FILE")
    pairs, _ = validate_pairs(pairs)  # fail before loading the model
    model = _load_model(args)
    vectors = model.encode(
        pairs,
        batch_size=args.batch_size,
        normalize=args.normalize,
        precision=args.precision,
        show_progress_bar=None if sys.stderr.isatty() else False,
    )
    if args.output and args.output.endswith(".npy"):
        np.save(args.output, vectors)
    else:
        lines = (
            json.dumps({"head": h, "tail": t, "vector": [round(float(x), 7) for x in v]}, ensure_ascii=False)
            for (h, t), v in zip(pairs, vectors, strict=True)
        )
        if args.output:
            Path(args.output).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        else:
            for line in lines:
                print(line)
    if args.output:
        print(f"wrote {len(pairs)} vectors of dimension {vectors.shape[1]} to {args.output}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- eval
def evaluate_analogy(
    model: Any,
    datasets: Sequence[str],
    split: str,
    data_dir: str | None,
    batch_size: int = 64,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    from relvec.evaluation import AnalogyEvaluator

    results = {}
    for name in datasets:
        evaluator = AnalogyEvaluator.from_dataset(name, split, data_dir, batch_size=batch_size, **options)
        results[name] = evaluator(model)
    return results


def format_table(columns: dict[str, dict[str, dict[str, Any]]]) -> str:
    """A text table: one row per dataset, one accuracy column (in %) per model."""
    names = list(dict.fromkeys(n for col in columns.values() for n in col))
    width = max(len(n) for n in [*names, "dataset"]) + 2
    heads = list(columns)
    lines = ["dataset".ljust(width) + "".join(h.rjust(max(len(h), 8) + 2) for h in heads)]
    for name in names:
        row = name.ljust(width)
        for h in heads:
            acc = columns[h].get(name, {}).get("accuracy")
            cell = "-" if acc is None else f"{100 * acc:.1f}"
            row += cell.rjust(max(len(h), 8) + 2)
        lines.append(row)
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    for name in datasets:
        if name not in ANALOGY_DATASETS and not name.endswith(".jsonl"):
            raise ValueError(f"unknown dataset {name!r}; known: {', '.join(ANALOGY_DATASETS)} or a .jsonl path")
    options = {"reverse": args.reverse, "bidirectional": args.bidirectional}
    options["show_progress_bar"] = sys.stderr.isatty()
    results = {}
    for name in args.model or [DEFAULT_BACKBONE]:
        model = _load_model(args, name)
        results[name] = evaluate_analogy(model, datasets, args.split, args.data_dir, args.batch_size, **options)
        del model
    print(format_table(results))
    payload = {"split": args.split, "reverse": args.reverse, "bidirectional": args.bidirectional, "results": results}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- info
def cmd_info(args: argparse.Namespace) -> int:
    from relvec.model import RelationEncoder

    model = RelationEncoder.from_pretrained(args.model)
    cfg = model.config
    n_params = sum(p.numel() for p in model.backbone.parameters())
    rows = {
        "model": args.model,
        "backbone": cfg.backbone or "-",
        "architecture": type(model.backbone).__name__,
        "parameters": f"{n_params / 1e6:.1f}M",
        "embedding_dim": model.embedding_dim,
        "template": cfg.template,
        "pooling": cfg.pooling,
        "max_length": cfg.max_length,
        "format_version": cfg.format_version,
        "relvec_version": cfg.relvec_version or "-",
        "trained": "yes" if cfg.training else "no",
    }
    for key, value in rows.items():
        print(f"{key:<15} {value}")
    if cfg.training:
        print(json.dumps(cfg.training, indent=2, ensure_ascii=False))
    return 0


# ---------------------------------------------------------------------------- train
def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from relvec.training import PRESETS, TrainingArguments

    parser.add_argument("--config", help="JSON or YAML file of training arguments")
    parser.add_argument("--resume", action="store_true", help="continue from the last complete checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    for f in dataclasses.fields(TrainingArguments):
        if f.name == "data_dir":
            continue  # the global --data-dir
        flags = [f"--{f.name.replace('_', '-')}"]
        if f.name == "output_dir":
            flags.append("--output")
        if f.name == "preset":
            parser.add_argument(*flags, dest=f.name, choices=list(PRESETS), default=None)
        elif f.type in ("bool",):
            parser.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
        elif f.name == "exclude_relations":
            parser.add_argument(*flags, dest=f.name, default=None, help="comma list of relations or parents")
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(*flags, dest=f.name, type=kind, default=None)


def arguments_from_cli(args: argparse.Namespace) -> TrainingArguments:
    """Precedence: preset < config file < flags."""
    from relvec.training import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.config:
        return TrainingArguments.from_file(args.config, **overrides)
    if "preset" in overrides:
        return TrainingArguments.from_preset(**overrides)
    return TrainingArguments.from_dict(overrides)


def _print_epoch(record: dict[str, Any]) -> None:
    line = f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}"
    if record.get("semeval_valid_accuracy") is not None:
        line += f", SemEval-valid analogy accuracy {100 * record['semeval_valid_accuracy']:.1f}%"
        base = record["baseline"].get("semeval_valid_accuracy")
        if base is not None:
            line += f" (untuned {100 * base:.1f}%)"
    if record["best_epoch"] == record["epoch"]:
        line += " [best so far]"
    print(line, file=sys.stderr, flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    from relvec.training import train

    arguments = arguments_from_cli(args)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        train(
            arguments,
            resume=args.resume,
            show_progress_bar=not args.no_progress and sys.stderr.isatty(),
            epoch_callbacks=[_print_epoch],
        )
    print(f"saved the selected model to {arguments.output_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
