"""``relvec classify fit|predict``: a relation classifier on frozen relation embeddings, saved and applied."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from relvec.classifier import RelationClassifier, describe
from relvec.cli.common import (
    json_line,
    load_model_from_args,
    model_args,
    model_kwargs,
    model_options,
    parse_pair_argument,
    printable,
    progress,
    read_pairs_file,
)
from relvec.data import LEXICAL_DATASETS, LexicalExample, lexical_relation_path, load_lexical_file


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("classify", help="fit, save and apply a relation classifier")
    actions = parser.add_subparsers(dest="action", required=True)
    fit = actions.add_parser("fit", parents=[common], help="fit the MLP grid on labelled pairs and save it")
    model_args(fit)
    fit.add_argument(
        "--data",
        required=True,
        help=f"JSONL of {{head, tail, relation}} records, or a lexical set ({', '.join(LEXICAL_DATASETS)}): "
        "its train split, and its valid split unless --valid is given",
    )
    fit.add_argument("--valid", default=None, help="JSONL validation records: the grid is selected on them")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--output", required=True, help="folder for the classifier")
    predict = actions.add_parser("predict", parents=[common], help="label pairs with a saved classifier")
    predict.add_argument("classifier", help="folder written by `relvec classify fit`")
    predict.add_argument("pairs", nargs="*", help="pairs as head:tail")
    predict.add_argument("--input", default=None, help="TSV or JSONL file of pairs (as for `relvec embed`)")
    predict.add_argument("--model", default=None, help="the embedding model (default: the one the folder names)")
    model_options(predict, batch_size=False)
    predict.add_argument("--json", action="store_true", help="print JSON lines with every label's probability")
    parser.set_defaults(handler=cmd_classify)


def training_data(data: str, valid: str | None, data_dir: str | None) -> tuple[list[LexicalExample], list | None]:
    """``--data``/``--valid`` as records: a file, or a named set's train (and valid) split."""
    if Path(data).is_file():
        return load_lexical_file(data), load_lexical_file(valid) if valid else None
    if data not in LEXICAL_DATASETS and not Path(data).is_dir():
        raise ValueError(f"--data {data!r} is neither a JSONL file nor a lexical set ({', '.join(LEXICAL_DATASETS)})")
    train = load_lexical_file(lexical_relation_path(data, "train", data_dir))
    if valid:
        return train, load_lexical_file(valid)
    valid_path = lexical_relation_path(data, "valid", data_dir)
    return train, load_lexical_file(valid_path) if valid_path is not None else None


def cmd_classify(args: argparse.Namespace) -> int:
    if args.action == "fit":
        train, valid = training_data(args.data, args.valid, args.data_dir)
        model = load_model_from_args(args)
        classifier = RelationClassifier.fit(
            model, train, valid, seed=args.seed, batch_size=args.batch_size, show_progress_bar=progress()
        )
        classifier.save_pretrained(args.output)
        print(f"saved {args.output}: {describe(classifier)}", file=sys.stderr)
        return 0
    pairs = [parse_pair_argument(p) for p in args.pairs]
    if args.input:
        pairs += read_pairs_file(args.input)
    if not pairs:
        raise ValueError("nothing to classify: pass pairs as head:tail and/or --input FILE")
    model = load_model_from_args(args) if args.model else None
    classifier = RelationClassifier.from_pretrained(args.classifier, model=model, **model_kwargs(args))
    probs = classifier.predict_proba(pairs)
    for (head, tail), row in zip(pairs, probs, strict=True):
        best = int(row.argmax())
        if args.json:
            scores = {label: round(float(p), 4) for label, p in zip(classifier.labels, row, strict=True)}
            print(json_line({"head": head, "tail": tail, "label": classifier.labels[best], "probabilities": scores}))
        else:
            print(f"{printable(head)}:{printable(tail)}\t{printable(classifier.labels[best])}\t{row[best]:.3f}")
    return 0
