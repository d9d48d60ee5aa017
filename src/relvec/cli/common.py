"""What every command shares: global flags, model options, loading, progress bars, pair input, output."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from relvec.backbones import DEFAULT_BACKBONE
from relvec.data.base import DataFormatError, iter_json_values
from relvec.files import iter_lines, short_repr
from relvec.options import DEFAULT_BATCH_SIZE, DEFAULT_PRECISION, DEFAULT_RUNTIME, POOLING_MODES, PRECISIONS, RUNTIMES
from relvec.text import word_problem

MODEL_HELP = (
    "relvec folder, backbone folder, alias (minilm, mpnet), hub id, "
    "'vanilla[:BACKBONE]' (untuned), 'offset[:FOLDER]' (GloVe offset baseline) or "
    "'offset:encoder:BACKBONE' (offsets of a sentence encoder's word vectors)"
)


# Flags every command takes, before or after its name (flag -> whether it takes a value).
GLOBAL_FLAGS = {"--debug": False, "--threads": True, "--data-dir": True, "--no-progress": False}
_PROGRESS: dict[str, bool | None] = {"on": None}


def _global_flags(parser: argparse.ArgumentParser, suppress: bool) -> None:
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--debug", action="store_true", default=default(False), help="show full tracebacks")
    parser.add_argument(
        "--threads", type=int, default=default(None), help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument("--data-dir", default=default(None), help="benchmark data directory (default: $RELVEC_DATA)")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        default=default(False),
        help="no progress output (default: bars on a terminal, a line every 30 s in a log)",
    )


def add_global_flags(parser: argparse.ArgumentParser) -> None:
    """The global flags on ``relvec`` itself (``relvec --threads 1 embed …``), with their defaults."""
    _global_flags(parser, suppress=False)


def common_parser() -> argparse.ArgumentParser:
    """The same flags for each command (``relvec embed --threads 1 …``); given there, they win."""
    common = argparse.ArgumentParser(add_help=False)
    _global_flags(common, suppress=True)
    return common


def set_progress(on: bool) -> None:
    """Set by the CLI from ``--no-progress``."""
    _PROGRESS["on"] = on


def model_args(parser: argparse.ArgumentParser, multiple: bool = False, batch_size: bool = True) -> None:
    """``--model`` and the model options (:func:`model_options`)."""
    if multiple:
        parser.add_argument(
            "--model", action="append", help=MODEL_HELP + "; repeat to compare side by side (default: minilm)"
        )
    else:
        parser.add_argument("--model", default=DEFAULT_BACKBONE, help=MODEL_HELP)
    model_options(parser, batch_size)


def model_options(parser: argparse.ArgumentParser, batch_size: bool = True, dim: bool = True) -> None:
    """The options every model command takes (read by :func:`load_model_from_args`, so they act wherever they are
    offered): ``--template``, ``--pooling``, ``--precision``, ``--runtime``, and ``--batch-size`` where the command
    passes it to ``encode``."""
    parser.add_argument("--template", default=None, help="template name (a-e) or custom; plain backbones only")
    parser.add_argument(
        "--pooling", default=None, choices=list(POOLING_MODES), help="token pooling (default: the model's own)"
    )
    if batch_size:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="pairs per forward pass")
    parser.add_argument(
        "--precision",
        default=DEFAULT_PRECISION,
        choices=list(PRECISIONS),
        help="the model's precision for every encode and score: auto is bf16 where the CPU has it natively "
        "(a static model then scores in bf16 and rescores its shortlist in fp32)",
    )
    parser.add_argument(
        "--runtime",
        default=DEFAULT_RUNTIME,
        choices=list(RUNTIMES),
        help="run the model's export (relvec export) with ONNX Runtime or OpenVINO",
    )
    if dim:
        parser.add_argument(
            "--dim", type=int, default=None, help="compact vectors of this size (the folder's PCA: relvec reduce)"
        )


def vocabulary_args(parser: argparse.ArgumentParser, default_size: int) -> None:
    """``--vocab FILE`` or ``--vocab-size N`` (the most frequent GloVe words), for completion and mining."""
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument("--vocab", default=None, help="vocabulary file, one word per line")
    vocab.add_argument("--vocab-size", type=int, default=default_size, help="most frequent lower-case GloVe 6B words")


def vocabulary_from_args(args: argparse.Namespace) -> list[str]:
    from relvec.completion import default_vocabulary, read_vocabulary

    return read_vocabulary(args.vocab) if args.vocab else default_vocabulary(args.vocab_size)


def load_model_from_args(args: argparse.Namespace, name: str | None = None) -> Any:
    """The model ``name`` (default ``--model``) with the command's model options (:func:`model_options`)."""
    from relvec.encoders.loading import load_model

    return load_model(name or args.model, **model_kwargs(args))


def model_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The model options of :func:`model_options` as ``load_model`` keywords."""
    options = {"template": args.template, "pooling": args.pooling, "precision": args.precision, "runtime": args.runtime}
    return options | ({"dim": args.dim} if getattr(args, "dim", None) is not None else {})


def progress() -> bool:
    """Show progress unless ``--no-progress`` (outside the CLI: only where stderr is a terminal)."""
    on = _PROGRESS["on"]
    return sys.stderr.isatty() if on is None else on


def parse_pair_argument(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"pair {short_repr(text)} must look like head:tail (use --input for words containing ':')")
    check_words(parts, f"pair argument {short_repr(text)}")
    return parts[0], parts[1]


def check_words(words: Sequence[Any], where: str) -> None:
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
            check_words(pair, f"{path}:{number}")
            pairs.append((pair[0], pair[1]))
    else:
        for number, line in iter_lines(path):
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != 2:
                raise DataFormatError(f"{path}:{number}: expected two tab-separated columns, got {len(cols)}")
            check_words(cols, f"{path}:{number}")
            pairs.append((cols[0], cols[1]))
    if not pairs:
        raise DataFormatError(f"{path}: no pairs")
    return pairs


def json_line(value: Any) -> str:
    """One line of strict JSON: a non-finite number (NaN, inf) becomes null, never invalid JSON."""
    return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def printable(text: str) -> str:
    """``text`` safe for one line of tab-separated output: control characters (newline, tab, …) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
