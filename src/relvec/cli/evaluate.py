"""``relvec eval`` (analogy, all), ``relvec report`` and ``relvec plot``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from relvec.backbones import DEFAULT_BACKBONE
from relvec.cards import CARD_FILE, is_relvec_card, update_card
from relvec.cli.common import load_model_from_args, model_args, progress
from relvec.data import LEXICAL_DATASETS, load_lexical_file, load_lexical_relation
from relvec.evaluation import evaluate_all, render_markdown
from relvec.evaluation.classification import CLASSIFIERS
from relvec.evaluation.mlp_grid import STOPPING
from relvec.evaluation.suite import ANALOGY_SUITE, TASKS, analogy_evaluator, dataset_label
from relvec.files import write_json, write_text
from relvec.plotting import plot_pairs
from relvec.validation import split_list


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    evaluate = sub.add_parser("eval", help="evaluate a model")
    tasks = evaluate.add_subparsers(dest="task", required=True)
    analogy = tasks.add_parser("analogy", parents=[common], help="zero-shot analogy questions")
    model_args(analogy, multiple=True)
    analogy.add_argument("--datasets", default="sat_full,u2,u4,google,bats", help="comma list of names or .jsonl paths")
    analogy.add_argument("--split", default="test", choices=["valid", "test"])
    direction = analogy.add_mutually_exclusive_group()
    direction.add_argument("--reverse", action="store_true", help="embed pairs reversed (b, a)")
    direction.add_argument("--bidirectional", action="store_true", help="average forward and reversed scores")
    analogy.add_argument("--output", default=None, help="JSON file for the full results (default: none written)")
    analogy.set_defaults(handler=cmd_eval)
    everything = tasks.add_parser("all", parents=[common], help="every evaluator; JSON + Markdown report")
    _add_eval_all(everything)
    everything.set_defaults(handler=cmd_eval_all)
    classification = tasks.add_parser(
        "classification", parents=[common], help="lexical relation classification (an MLP grid on the embeddings)"
    )
    model_args(classification)
    classification.add_argument("--datasets", dest="lexical_datasets", default=",".join(LEXICAL_DATASETS))
    _add_task_options(classification, "eval_classification.json")
    classification.set_defaults(handler=cmd_eval_all, tasks="lexical_relation", analogy_datasets="", split="test")
    mapping = tasks.add_parser("mapping", parents=[common], help="Turney's relation-mapping problems")
    model_args(mapping)
    _add_task_options(mapping, "eval_mapping.json")
    mapping.set_defaults(
        handler=cmd_eval_all, tasks="relation_mapping", analogy_datasets="", lexical_datasets="", split="test"
    )

    report = sub.add_parser("report", parents=[common], help="merge result files into one side-by-side table")
    report.add_argument("results", nargs="+", help="JSON files written by `relvec eval all`")
    report.add_argument("--output", help="Markdown file (default: stdout only)")
    report.set_defaults(handler=cmd_report)

    plot = sub.add_parser("plot", parents=[common], help="2-D projection of labelled pairs, coloured by relation")
    model_args(plot)
    plot.add_argument("--dataset", default="BLESS", help="lexical-relation set name or folder (default: BLESS)")
    plot.add_argument("--split", default="test", choices=["train", "valid", "test"])
    plot.add_argument("--input", help="JSONL of {head, tail, relation} instead of --dataset")
    plot.add_argument("--method", default="pca", choices=["pca", "tsne"])
    plot.add_argument("--max-points", type=int, default=2000)
    plot.add_argument("--exclude", default="random,RANDOM,false", help="comma list of labels to leave out")
    plot.add_argument("--output", default="relations.png")
    plot.set_defaults(handler=cmd_plot)


def evaluate_analogy(
    model: Any,
    datasets: Sequence[str],
    split: str,
    data_dir: str | None,
    batch_size: int = 64,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    results = {}
    for name in datasets:
        evaluator = analogy_evaluator(name, split, data_dir, None, batch_size=batch_size, **options)
        results[dataset_label(name)] = evaluator(model)
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
    datasets = split_list(args.datasets)
    for name in datasets:
        if name not in ANALOGY_SUITE and not name.endswith(".jsonl"):
            raise ValueError(f"unknown dataset {name!r}; known: {', '.join(ANALOGY_SUITE)} or a .jsonl path")
    options = {"reverse": args.reverse, "bidirectional": args.bidirectional}
    options["show_progress_bar"] = progress()
    results = {}
    for name in args.model or [DEFAULT_BACKBONE]:
        model = load_model_from_args(args, name)
        results[name] = evaluate_analogy(model, datasets, args.split, args.data_dir, args.batch_size, **options)
        del model
    print(format_table(results))
    payload = {"split": args.split, "reverse": args.reverse, "bidirectional": args.bidirectional, "results": results}
    if args.output:
        write_json(args.output, payload)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _add_eval_all(parser: argparse.ArgumentParser) -> None:
    model_args(parser)
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma list of {', '.join(TASKS)}")
    parser.add_argument("--analogy-datasets", default=",".join(ANALOGY_SUITE))
    parser.add_argument("--lexical-datasets", default=",".join(LEXICAL_DATASETS))
    parser.add_argument("--split", default="test", choices=["valid", "test"], help="analogy split")
    parser.add_argument(
        "--update-card", action="store_true", help="write the results into the model folder's README.md card"
    )
    _add_task_options(parser, "eval_all.json")


def _add_task_options(parser: argparse.ArgumentParser, output: str) -> None:
    parser.add_argument("--max-items", type=int, default=None, help="seeded subset per set (smoke tests)")
    parser.add_argument(
        "--classifier",
        default="torch",
        choices=list(CLASSIFIERS),
        help="classification grid: torch (every configuration at once) or sklearn (the reference)",
    )
    parser.add_argument(
        "--grid-stopping",
        default="valid",
        choices=list(STOPPING),
        help="torch grid: also stop on validation micro-F1 and keep the best epoch (valid), "
        "or scikit-learn's training-loss rule alone (loss)",
    )
    parser.add_argument("--output", default=output, help="JSON results; the Markdown table goes next to it")


def cmd_eval_all(args: argparse.Namespace) -> int:
    if args.max_items is not None and args.max_items < 10:
        raise ValueError(f"--max-items must be at least 10, got {args.max_items}")
    if getattr(args, "update_card", False) and args.max_items is not None:
        raise ValueError("--update-card takes full evaluations only, not --max-items subsets")
    if getattr(args, "update_card", False) and not is_relvec_card(Path(args.model) / CARD_FILE):
        raise ValueError(f"--update-card: {args.model} has no relvec model card (README.md) to update")
    model = load_model_from_args(args)
    output = Path(args.output)
    subset = {"max_items": args.max_items} if args.max_items is not None else {}
    partial_results: dict[str, Any] = {"model": args.model, "complete": False, **subset}

    def report(task: str, name: str, metrics: dict[str, Any]) -> None:
        # keep what is done on disk, so a failure later in the run loses nothing
        partial_results.setdefault(task, {})[name] = metrics
        write_json(output, partial_results)
        print(
            f"{task:<17} {name:<34} {metrics['primary_metric']} {100 * metrics[metrics['primary_metric']]:.1f}",
            file=sys.stderr,
            flush=True,
        )

    results = evaluate_all(
        model,
        data_dir=args.data_dir,
        tasks=split_list(args.tasks),
        analogy=split_list(args.analogy_datasets),
        lexical=split_list(args.lexical_datasets),
        split=args.split,
        max_items=args.max_items,
        batch_size=args.batch_size,
        show_progress_bar=progress(),
        on_result=report,
        classifier=args.classifier,
        stopping=args.grid_stopping,
    )
    results["model"] = args.model
    results["complete"] = True
    results.update(subset)
    markdown = render_markdown([results])
    write_json(output, results)
    write_text(output.with_suffix(".md"), markdown)
    print(markdown)
    print(f"wrote {output} and {output.with_suffix('.md')}", file=sys.stderr)
    if getattr(args, "update_card", False):
        card = update_card(args.model, Path(args.model).name, results, markdown)
        print(f"updated {card}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    results = []
    for path in args.results:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read results ({exc})") from exc
        if not isinstance(data, dict) or "model" not in data:
            raise ValueError(f"{path}: not a `relvec eval all` result (no 'model' field)")
        results.append({**data, "source": Path(path).name})
    markdown = render_markdown(results)
    print(markdown)
    if args.output:
        write_text(args.output, markdown)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    if args.input:
        examples = load_lexical_file(args.input)
        source = args.input
    else:
        examples = load_lexical_relation(args.dataset, args.split, args.data_dir)
        source = f"{args.dataset} {args.split}"
    model = load_model_from_args(args)
    title = f"{args.model}: {source} ({args.method.upper()})"
    path = plot_pairs(
        model,
        examples,
        args.output,
        method=args.method,
        max_points=args.max_points,
        exclude_labels=split_list(args.exclude),
        title=title,
        batch_size=args.batch_size,
        show_progress_bar=progress(),
    )
    print(f"wrote {path}", file=sys.stderr)
    return 0
