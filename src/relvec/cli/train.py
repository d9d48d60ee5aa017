"""``relvec train`` (a recipe: training, then the optional hybrid step) and ``relvec prompt search``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import torch

from relvec.cli.arguments import add_dataclass_arguments, values_given
from relvec.cli.common import progress
from relvec.files import refuse_file
from relvec.recipes import RecipeArguments, train_recipe
from relvec.training import finished_run
from relvec.training.distributed import init_from_environment, world
from relvec.training.prompt_search import PromptSearchArguments, search_prompt


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    train = sub.add_parser(
        "train",
        parents=[common],
        help="fine-tune a relation encoder",
        description="Fine-tune a relation encoder. Precedence: preset < --config file < flags; "
        "--show-config prints the resolved arguments (a preset's values included) and exits.",
    )
    add_train_arguments(train)
    train.set_defaults(handler=cmd_train)
    prompt = sub.add_parser("prompt", help="learned prompts (AutoPrompt, P-tuning)")
    search = prompt.add_subparsers(dest="action", required=True).add_parser(
        "search", parents=[common], help="search a prompt with the encoder frozen; writes a model folder"
    )
    add_dataclass_arguments(search, PromptSearchArguments)
    search.set_defaults(handler=cmd_prompt)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="JSON or YAML file of training arguments")
    parser.add_argument("--resume", action="store_true", help="continue from the last complete checkpoint")
    parser.add_argument(
        "--overwrite", action="store_true", help="train again into a folder that holds a finished run (replaces it)"
    )
    parser.add_argument("--show-config", action="store_true", help="print the resolved arguments as JSON and exit")
    parser.add_argument(
        "--nproc", type=int, default=1, help="train data-parallel on N local processes (launches torchrun)"
    )
    add_dataclass_arguments(parser, RecipeArguments)


def arguments_from_cli(args: argparse.Namespace) -> RecipeArguments:
    """Precedence: preset < config file < flags."""
    overrides = values_given(args, RecipeArguments)
    if args.config:
        return RecipeArguments.from_file(args.config, **overrides)
    if "preset" in overrides:
        return RecipeArguments.from_preset(**overrides)
    return RecipeArguments.from_dict(overrides)


def _print_epoch(record: dict[str, Any]) -> None:
    line = f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}"
    metric = record.get("metric")
    if metric and record.get(metric) is not None:
        label = "SemEval-valid analogy accuracy" if metric == "semeval_valid_accuracy" else metric
        line += f", {label} {100 * record[metric]:.1f}%"
        base = record["baseline"].get(metric)
        if base is not None:
            line += f" (untuned {100 * base:.1f}%)"
    if record["best_epoch"] == record["epoch"]:
        line += " [best so far]"
    print(line, file=sys.stderr, flush=True)


def launch(nproc: int, argv: list[str]) -> int:
    """Run this same command under torchrun on ``nproc`` local processes (``--nproc`` removed)."""
    rest, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            rest.append(item)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    return subprocess.run([*command, "-m", "relvec", *rest], check=False).returncode


def cmd_train(args: argparse.Namespace) -> int:
    if args.nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {args.nproc}")
    if args.nproc > 1 and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return launch(args.nproc, args.argv)
    distributed = init_from_environment()
    rank, size = world()
    if distributed:
        if "relations_per_step" not in values_given(args, RecipeArguments):
            args.relations_per_step = size  # one relation per process and step
        if args.threads is None:
            local = int(os.environ.get("LOCAL_WORLD_SIZE", size))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    arguments = arguments_from_cli(args)
    if args.show_config:
        print(json.dumps(arguments.to_dict(), indent=2))
        return 0
    refuse_file(Path(arguments.output_dir))
    done = finished_run(Path(arguments.output_dir)) if Path(arguments.output_dir).is_dir() else None
    if done is not None and not args.resume and not args.overwrite:
        raise ValueError(
            f"--output {arguments.output_dir} holds a finished run; pass --overwrite to train over it, "
            "--resume to keep it, or choose another --output"
        )
    if done is not None and args.resume:
        print(
            f"{arguments.output_dir}: training already finished (best epoch {done.get('best_epoch')}); "
            "nothing to resume",
            file=sys.stderr,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        model = train_recipe(
            arguments,
            resume=args.resume,
            show_progress_bar=progress(),
            epoch_callbacks=[_print_epoch],
        )
    if rank == 0:
        average = (model.config.training or {}).get("average")
        what = "the selected model" if not average else _describe_average(average)
        print(f"saved {what} to {arguments.output_dir}", file=sys.stderr)
    return 0


def _describe_average(average: dict[str, Any]) -> str:
    epochs = average["epochs"]
    scores = [f"{k} {100 * v:.1f}%" for k, v in average.items() if k != "epochs" and isinstance(v, float)][:1]
    return f"the mean of the weights of epochs {epochs[0]}-{epochs[-1]}" + (f" ({scores[0]})" if scores else "")


def cmd_prompt(args: argparse.Namespace) -> int:
    arguments = PromptSearchArguments.from_dict(values_given(args, PromptSearchArguments))

    def report(entry: dict[str, Any]) -> None:
        change = f"-> {entry['token']}" if entry["accepted"] else "(kept)"
        print(
            f"iteration {entry['iteration']:>3} slot {entry['slot']}: loss {entry['loss_before']:.4f} -> "
            f"{entry['loss_after']:.4f} {change} | {entry['template']}",
            file=sys.stderr,
            flush=True,
        )

    model = search_prompt(
        arguments,
        on_iteration=report,
        show_progress_bar=not args.no_progress and progress(),
        epoch_callbacks=[_print_epoch],
    )
    print(model.config.template)
    print(f"saved the {arguments.method} prompt model to {arguments.output_dir}", file=sys.stderr)
    return 0
