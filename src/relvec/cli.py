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
from relvec.data import DataFormatError, iter_json_values
from relvec.files import iter_lines, short_repr, write_file
from relvec.text import word_problem

if TYPE_CHECKING:
    from relvec.training import TrainingArguments


MODEL_HELP = (
    "relvec folder, backbone folder, alias (minilm, mpnet), hub id, "
    "'vanilla[:BACKBONE]' (untuned), 'offset[:FOLDER]' (GloVe offset baseline) or "
    "'offset:encoder:BACKBONE' (offsets of a sentence encoder's word vectors)"
)


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show full tracebacks")
    common.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    common.add_argument("--data-dir", default=None, help="benchmark data directory (default: $RELVEC_DATA)")
    return common


def _model_args(parser: argparse.ArgumentParser, multiple: bool = False) -> None:
    if multiple:
        parser.add_argument(
            "--model", action="append", help=MODEL_HELP + "; repeat to compare side by side (default: minilm)"
        )
    else:
        parser.add_argument("--model", default=DEFAULT_BACKBONE, help=MODEL_HELP)
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
    _add_eval_all(tasks.add_parser("all", parents=[common], help="every evaluator; JSON + Markdown report"))

    report = sub.add_parser("report", parents=[common], help="merge result files into one side-by-side table")
    report.add_argument("results", nargs="+", help="JSON files written by `relvec eval all`")
    report.add_argument("--output", help="Markdown file (default: stdout only)")

    plot = sub.add_parser("plot", parents=[common], help="2-D projection of labelled pairs, coloured by relation")
    _model_args(plot)
    plot.add_argument("--dataset", default="BLESS", help="lexical-relation set name or folder (default: BLESS)")
    plot.add_argument("--split", default="test", choices=["train", "valid", "test"])
    plot.add_argument("--input", help="JSONL of {head, tail, relation} instead of --dataset")
    plot.add_argument("--method", default="pca", choices=["pca", "tsne"])
    plot.add_argument("--max-points", type=int, default=2000)
    plot.add_argument("--exclude", default="random,RANDOM,false", help="comma list of labels to leave out")
    plot.add_argument("--output", default="relations.png")

    _add_neighbours(sub.add_parser("neighbours", help="nearest-neighbour relation search"), common)

    from relvec.hybrid import DEFAULT_SELECT_ON, DEFAULT_WEIGHTS

    hybrid = sub.add_parser("hybrid", parents=[common], help="join a model with static word-vector offsets")
    _model_args(hybrid)
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

    info = sub.add_parser("info", parents=[common], help="describe a model")
    info.add_argument("model")

    add_train_arguments(sub.add_parser("train", parents=[common], help="fine-tune a relation encoder"))
    prompt = sub.add_parser("prompt", help="learned prompts (AutoPrompt, P-tuning)")
    search = prompt.add_subparsers(dest="action", required=True).add_parser(
        "search", parents=[common], help="search a prompt with the encoder frozen; writes a model folder"
    )
    _add_prompt_search_arguments(search)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _setup(args)
        handler = {
            "embed": cmd_embed,
            "eval": cmd_eval,
            "info": cmd_info,
            "train": cmd_train,
            "report": cmd_report,
            "plot": cmd_plot,
            "neighbours": cmd_neighbours,
            "hybrid": cmd_hybrid,
            "prompt": cmd_prompt,
        }[args.command]
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
    from relvec.loading import load_model

    return load_model(name or args.model, template=args.template, pooling=args.pooling)


def _progress() -> bool:
    return sys.stderr.isatty()


def _write_text(path: str | Path, text: str) -> None:
    from relvec.files import write_text

    write_text(path, text)


# ---------------------------------------------------------------------------- embed
def parse_pair_argument(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"pair {short_repr(text)} must look like head:tail (use --input for words containing ':')")
    _check_words(parts, f"pair argument {short_repr(text)}")
    return parts[0], parts[1]


def _check_words(words: Sequence[Any], where: str) -> None:
    for word in words:
        problem = word_problem(word)
        if problem:
            raise ValueError(f"{where}: word {short_repr(word)} {problem}")


def read_pairs_file(path: str | Path) -> list[tuple[str, str]]:
    """Pairs from a TSV (head<TAB>tail) or JSONL ({"head", "tail"} or [head, tail]) file; errors name file:line."""
    path = Path(path)
    pairs = []
    if path.suffix == ".jsonl":
        for number, value in iter_json_values(path):
            if isinstance(value, dict) and "head" in value and "tail" in value:
                pair = [value["head"], value["tail"]]
            elif isinstance(value, list) and len(value) == 2:
                pair = value
            else:
                raise DataFormatError(
                    f"{path}:{number}: expected {{'head', 'tail'}} or [head, tail], got {short_repr(value)}"
                )
            _check_words(pair, f"{path}:{number}")
            pairs.append((pair[0], pair[1]))
    else:
        for number, line in iter_lines(path):
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != 2:
                raise DataFormatError(f"{path}:{number}: expected two tab-separated columns, got {len(cols)}")
            _check_words(cols, f"{path}:{number}")
            pairs.append((cols[0], cols[1]))
    if not pairs:
        raise DataFormatError(f"{path}: no pairs")
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
        show_progress_bar=None if _progress() else False,
    )
    if args.output and args.output.endswith(".npy"):
        write_file(args.output, lambda p: np.save(p, vectors, allow_pickle=False))
    else:
        lines = (
            json.dumps({"head": h, "tail": t, "vector": [round(float(x), 7) for x in v]}, ensure_ascii=False)
            for (h, t), v in zip(pairs, vectors, strict=True)
        )
        if args.output:
            _write_text(args.output, "".join(line + "\n" for line in lines))
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
    from relvec.evaluation.suite import analogy_evaluator

    results = {}
    for name in datasets:
        evaluator = analogy_evaluator(name, split, data_dir, None, batch_size=batch_size, **options)
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
    if args.task == "all":
        return cmd_eval_all(args)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    from relvec.evaluation.suite import ANALOGY_SUITE

    for name in datasets:
        if name not in ANALOGY_SUITE and not name.endswith(".jsonl"):
            raise ValueError(f"unknown dataset {name!r}; known: {', '.join(ANALOGY_SUITE)} or a .jsonl path")
    options = {"reverse": args.reverse, "bidirectional": args.bidirectional}
    options["show_progress_bar"] = _progress()
    results = {}
    for name in args.model or [DEFAULT_BACKBONE]:
        model = _load_model(args, name)
        results[name] = evaluate_analogy(model, datasets, args.split, args.data_dir, args.batch_size, **options)
        del model
    print(format_table(results))
    payload = {"split": args.split, "reverse": args.reverse, "bidirectional": args.bidirectional, "results": results}
    _write_text(args.output, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _add_eval_all(parser: argparse.ArgumentParser) -> None:
    from relvec.data import LEXICAL_DATASETS
    from relvec.evaluation.suite import ANALOGY_SUITE, TASKS

    _model_args(parser)
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma list of {', '.join(TASKS)}")
    parser.add_argument("--analogy-datasets", default=",".join(ANALOGY_SUITE))
    parser.add_argument("--lexical-datasets", default=",".join(LEXICAL_DATASETS))
    parser.add_argument("--split", default="test", choices=["valid", "test"], help="analogy split")
    parser.add_argument("--max-items", type=int, default=None, help="seeded subset per set (smoke tests)")
    parser.add_argument("--output", default="eval_all.json", help="JSON results; the Markdown table goes next to it")


def _split_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def cmd_eval_all(args: argparse.Namespace) -> int:
    from relvec.evaluation import evaluate_all, render_markdown

    if args.max_items is not None and args.max_items < 10:
        raise ValueError(f"--max-items must be at least 10, got {args.max_items}")
    model = _load_model(args)
    output = Path(args.output)
    partial_results: dict[str, Any] = {"model": args.model, "complete": False}

    def report(task: str, name: str, metrics: dict[str, Any]) -> None:
        # keep what is done on disk, so a failure later in the run loses nothing
        partial_results.setdefault(task, {})[name] = metrics
        _write_text(output, json.dumps(partial_results, indent=2, ensure_ascii=False) + "\n")
        print(
            f"{task:<17} {name:<34} {metrics['primary_metric']} {100 * metrics[metrics['primary_metric']]:.1f}",
            file=sys.stderr,
            flush=True,
        )

    results = evaluate_all(
        model,
        data_dir=args.data_dir,
        tasks=_split_list(args.tasks),
        analogy=_split_list(args.analogy_datasets),
        lexical=_split_list(args.lexical_datasets),
        split=args.split,
        max_items=args.max_items,
        batch_size=args.batch_size,
        show_progress_bar=_progress(),
        on_result=report,
    )
    results["model"] = args.model
    results["complete"] = True
    markdown = render_markdown([results])
    _write_text(output, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    _write_text(output.with_suffix(".md"), markdown)
    print(markdown)
    print(f"wrote {output} and {output.with_suffix('.md')}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from relvec.evaluation import render_markdown

    results = []
    for path in args.results:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read results ({exc})") from exc
        if not isinstance(data, dict) or "model" not in data:
            raise ValueError(f"{path}: not a `relvec eval all` result (no 'model' field)")
        results.append(data)
    markdown = render_markdown(results)
    print(markdown)
    if args.output:
        _write_text(args.output, markdown)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- plot
def cmd_plot(args: argparse.Namespace) -> int:
    from relvec.data import load_lexical_file, load_lexical_relation
    from relvec.plotting import plot_pairs

    if args.input:
        examples = load_lexical_file(args.input)
        source = args.input
    else:
        examples = load_lexical_relation(args.dataset, args.split, args.data_dir)
        source = f"{args.dataset} {args.split}"
    model = _load_model(args)
    title = f"{args.model}: {source} ({args.method.upper()})"
    path = plot_pairs(
        model,
        examples,
        args.output,
        method=args.method,
        max_points=args.max_points,
        exclude_labels=_split_list(args.exclude),
        title=title,
        batch_size=args.batch_size,
        show_progress_bar=_progress(),
    )
    print(f"wrote {path}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- prompt search
def _add_prompt_search_arguments(parser: argparse.ArgumentParser) -> None:
    from relvec.config import LEARNED_METHODS, POOLING_MODES
    from relvec.learned_prompts import PromptSearchArguments

    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_dataclass_arguments(parser, PromptSearchArguments, {"method": LEARNED_METHODS, "pooling": POOLING_MODES})


def cmd_prompt(args: argparse.Namespace) -> int:
    from relvec.learned_prompts import PromptSearchArguments, search_prompt

    names = {f.name for f in dataclasses.fields(PromptSearchArguments)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.data_dir is not None:
        given["data_dir"] = args.data_dir
    arguments = PromptSearchArguments.from_dict(given)

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
        show_progress_bar=not args.no_progress and _progress(),
        epoch_callbacks=[_print_epoch],
    )
    print(model.config.template)
    print(f"saved the {arguments.method} prompt model to {arguments.output_dir}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- hybrid
def cmd_hybrid(args: argparse.Namespace) -> int:
    from relvec.hybrid import build_selected_hybrid, parse_weights

    weights = parse_weights(args.weights)
    names = _split_list(args.select_on)
    prompt = _load_model(args)
    model, rows = build_selected_hybrid(
        prompt,
        args.vectors,
        weights,
        names,
        args.output,
        args.data_dir,
        None,
        args.batch_size,
        _progress(),
        bidirectional=args.bidirectional,
    )
    print("weight  " + "".join(f"{n[:12]:>13}" for n in [*names, "mean"]))
    for row in rows:
        mark = "  <- selected" if row["weight"] == model.weight else ""
        print(f"{row['weight']:<8g}" + "".join(f"{100 * row[n]:>13.1f}" for n in [*names, "mean"]) + mark)
    print(f"saved the hybrid model (weight {model.weight:g}, chosen on valid splits) to {args.output}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- neighbours
def _add_neighbours(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    from relvec.search import BACKENDS, DATA_SOURCES

    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", parents=[common], help="embed pairs and save an index")
    _model_args(build)
    build.add_argument("--input", help="TSV or JSONL file of pairs (as for `relvec embed`)")
    build.add_argument(
        "--from-data", default=None, help=f"comma list of {', '.join(DATA_SOURCES)}: every pair of those data sets"
    )
    build.add_argument("--backend", default="exact", choices=list(BACKENDS))
    build.add_argument("--output", required=True, help="index folder")

    query = actions.add_parser("query", parents=[common], help="the k most similar indexed pairs")
    _model_args(query)
    query.set_defaults(model=None)
    query.add_argument("pairs", nargs="+", help="query pairs as head:tail")
    query.add_argument("--index", required=True, help="index folder")
    query.add_argument("-k", type=int, default=10)
    query.add_argument("--backend", default=None, choices=list(BACKENDS), help="override the saved backend")
    query.add_argument("--json", action="store_true", help="print JSON lines instead of a table")


def cmd_neighbours(args: argparse.Namespace) -> int:
    from relvec.search import RelationIndex, dataset_pairs

    if args.action == "build":
        pairs: list[tuple[str, str]] = []
        if args.input:
            pairs += read_pairs_file(args.input)
        if args.from_data:
            pairs += dataset_pairs(args.data_dir, _split_list(args.from_data))
        if not pairs:
            raise ValueError("nothing to index: pass --input FILE and/or --from-data analogy,lexical,semeval")
        model = _load_model(args)
        index = RelationIndex.build(model, pairs, args.backend, args.batch_size, show_progress_bar=_progress())
        index.save(args.output)
        print(f"indexed {len(index)} pairs in {args.output}", file=sys.stderr)
        return 0
    queries = [parse_pair_argument(p) for p in args.pairs]
    index = RelationIndex.load(args.index, backend=args.backend)
    model = _load_model(args, args.model or index.identity.get("name"))
    results = index.query(model, queries, k=args.k)
    for query, found in zip(queries, results, strict=True):
        if args.json:
            rows = [{"head": n.pair[0], "tail": n.pair[1], "score": round(n.score, 4)} for n in found]
            print(json.dumps({"query": list(query), "neighbours": rows}, ensure_ascii=False))
            continue
        print(f"{query[0]}:{query[1]}")
        for rank, n in enumerate(found, start=1):
            print(f"  {rank:>2}. {n.pair[0]}:{n.pair[1]}  {n.score:.3f}")
    return 0


# ---------------------------------------------------------------------------- info
def cmd_info(args: argparse.Namespace) -> int:
    from relvec.loading import load_model

    model = load_model(args.model)
    if not hasattr(model, "backbone"):
        static = getattr(model, "static", model)
        rows: dict[str, Any] = {"model": args.model, "model_type": model.model_type}
        if static is not model:  # hybrid
            rows |= {"prompt_model": model.prompt.name_or_path, "weight": f"{model.weight:g}"}
        rows |= {
            "embedding_dim": model.embedding_dim,
            "vectors": static.vectors.name or "-",
            "vocabulary": len(static.vectors.words),
        }
        for key, value in rows.items():
            print(f"{key:<15} {value}")
        return 0
    cfg = model.config
    n_params = sum(p.numel() for p in model.backbone.parameters())
    rows = {
        "model": args.model,
        "backbone": cfg.backbone or "-",
        "architecture": type(model.backbone).__name__,
        "parameters": f"{n_params / 1e6:.1f}M",
        "embedding_dim": model.embedding_dim,
        "template": cfg.template,
        "prompt": f"{cfg.prompt['method']} {cfg.prompt['shape']}" if cfg.prompt else "manual",
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
def add_dataclass_arguments(
    parser: argparse.ArgumentParser, cls: type, choices: dict[str, Sequence[str]] | None = None
) -> None:
    """One ``--flag`` per dataclass field (default None, so only given flags override)."""
    for f in dataclasses.fields(cls):
        if f.name == "data_dir":
            continue  # the global --data-dir
        flags = [f"--{f.name.replace('_', '-')}"]
        if f.name == "output_dir":
            flags.append("--output")
        if choices and f.name in choices:
            parser.add_argument(*flags, dest=f.name, choices=list(choices[f.name]), default=None)
        elif f.type in ("bool",):
            parser.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
        elif f.name == "exclude_relations":
            parser.add_argument(*flags, dest=f.name, default=None, help="comma list of relations or parents")
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(*flags, dest=f.name, type=kind, default=None)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from relvec.training import PRESETS, TrainingArguments

    parser.add_argument("--config", help="JSON or YAML file of training arguments")
    parser.add_argument("--resume", action="store_true", help="continue from the last complete checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_dataclass_arguments(parser, TrainingArguments, {"preset": list(PRESETS)})


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
    from relvec.checkpoint import finished_run
    from relvec.training import train

    arguments = arguments_from_cli(args)
    done = finished_run(Path(arguments.output_dir)) if args.resume else None
    if done is not None:
        print(
            f"{arguments.output_dir}: training already finished (best epoch {done.get('best_epoch')}); "
            "nothing to resume",
            file=sys.stderr,
        )
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
