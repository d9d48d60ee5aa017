"""The ``relvec`` command line: a thin layer over the Python API, one module per command group.

Only the module of the command being run is imported, so ``relvec --help`` pays for no model code;
every flag's default shows in ``--help``; a mistyped flag or command gets a did-you-mean; an error is
one line naming what to fix (``--debug`` keeps the traceback).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any

from relvec.cli.common import (
    GLOBAL_FLAGS,
    add_global_flags,
    common_parser,
    parse_pair_argument,
    read_pairs_file,
    set_progress,
)

__all__ = ["COMMANDS", "build_parser", "main", "parse_pair_argument", "read_pairs_file"]

# command -> (module under relvec.cli that registers it, one-line help); the order of `relvec --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "embed": ("embed", "embed word pairs"),
    "similarity": ("score", "cosine of one pair with others: relvec similarity a:b c:d e:f"),
    "analogy": ("score", "answer one analogy question: relvec analogy STEM CHOICE..."),
    "eval": ("evaluate", "evaluate a model"),
    "report": ("evaluate", "merge result files into one side-by-side table"),
    "plot": ("evaluate", "2-D projection of labelled pairs, coloured by relation"),
    "neighbours": ("neighbours", "nearest-neighbour relation search"),
    "complete": ("complete", "complete A:B :: C:? from a vocabulary"),
    "classify": ("classify", "fit, save and apply a relation classifier"),
    "hybrid": ("models", "join a model with static word-vector offsets"),
    "info": ("models", "describe a model"),
    "train": ("train", "fine-tune a relation encoder"),
    "distill": ("distill", "distil a model into a static relation model (word-vector speed)"),
    "prompt": ("train", "learned prompts (AutoPrompt, P-tuning)"),
    "data": ("data", "build training data"),
    "export": ("export", "export a model to ONNX / OpenVINO, fp32 or int8"),
    "reduce": ("reduce", "compact vectors: a PCA of the model's vectors stored in its folder"),
    "push": ("push", "upload a saved folder to the Hugging Face hub"),
    "serve": ("serve", "serve a model over HTTP (relvec[serve])"),
}
_ERROR_LIMIT = 300


class HelpFormatter(argparse.HelpFormatter):
    """Every flag's default in its help, unless the help already states it or there is none to state."""

    def add_argument(self, action: argparse.Action) -> None:
        if action.help is None and action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            action.help = "(default: %(default)s)"
        super().add_argument(action)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class RelvecParser(argparse.ArgumentParser):
    """An argument parser whose errors suggest the closest command or flag."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # type: ignore[override]
        if "invalid choice:" in message:
            wrong = message.split("invalid choice:", 1)[1].split("(", 1)[0].strip().strip("'\"")
            choices = [c for a in self._actions if a.choices for c in a.choices]
            close = difflib.get_close_matches(wrong, [str(c) for c in choices], n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        super().error(message)

    def unrecognized(self, extras: Sequence[str]) -> None:
        flags = [s for a in self._actions for s in a.option_strings]
        hints = []
        for extra in extras:
            close = difflib.get_close_matches(extra.split("=", 1)[0], flags, n=1, cutoff=0.6)
            if close:
                hints.append(f"{extra} -> {close[0]}")
        suffix = f" (did you mean: {', '.join(hints)}?)" if hints else ""
        self.error(f"unrecognized arguments: {' '.join(extras)}{suffix}")


def _command_of(argv: Sequence[str]) -> str | None:
    """The first word of ``argv`` that is not a global flag or its value (the command), if any."""
    skip = False
    for item in argv:
        if skip:
            skip = False
            continue
        if item.startswith("-"):
            skip = item in GLOBAL_FLAGS and GLOBAL_FLAGS[item]
            continue
        return item
    return None


def build_parser(command: str | None = None, lazy: bool = False) -> RelvecParser:
    """The parser of every command (``lazy``: only ``command``'s module is imported, the others are listed)."""
    common = common_parser()
    parser = RelvecParser(prog="relvec", description="Relation embeddings for word pairs.")
    add_global_flags(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=RelvecParser)
    wanted = {COMMANDS[command][0]} if lazy and command in COMMANDS else set() if lazy else None
    registered: set[str] = set()
    for name, (module, help_text) in COMMANDS.items():
        if name in sub.choices:
            continue
        if wanted is None or module in wanted:
            if module not in registered:
                importlib.import_module(f"relvec.cli.{module}").register(sub, common)
                registered.add(module)
            continue
        sub.add_parser(name, help=help_text)
    return parser


def _leaf(parser: argparse.ArgumentParser, args: argparse.Namespace) -> RelvecParser:
    """The (sub)parser that parsed the command's own flags, for its usage and flags."""
    current = parser
    while True:
        action = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        chosen = getattr(args, action.dest, None) if action else None
        if action is None or chosen not in action.choices:
            return current  # type: ignore[return-value]
        current = action.choices[chosen]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_of(argv), lazy=True)
    args, extras = parser.parse_known_args(argv)
    if extras:
        _leaf(parser, args).unrecognized(extras)
    args.argv = argv  # for commands that relaunch themselves
    stderr = sys.stderr
    try:
        _setup(args)
        return args.handler(args)
    except KeyboardInterrupt:
        print("relvec: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"relvec: error: {one_line(exc, flags=_flags(_leaf(parser, args)))}", file=sys.stderr)
        return 1
    finally:
        sys.stderr = stderr


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def one_line(
    exc: BaseException, limit: int = _ERROR_LIMIT - len("relvec: error: "), flags: set[str] = frozenset()
) -> str:
    """An exception as one line under the length limit: its first line, whitespace collapsed, and a
    leading argument name (``batch_size must …``) shown as the command's flag (``--batch-size``)."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = f"missing field {exc.args[0]!r}"
    text = " ".join(text.split())
    head, _, rest = text.partition(" ")
    flag = "--" + head.replace("_", "-")
    if "_" in head and flag in flags and not rest.startswith(f"({flag})"):
        text = f"{flag} {rest}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _LogLines(io.TextIOBase):
    """stderr for logs (not a terminal): a progress bar's carriage-return redraws become separate lines."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.at_line_start = True

    def write(self, text: str) -> int:
        out = []
        for char in text:
            if char == "\r":
                char = "" if self.at_line_start else "\n"
            if char:
                out.append(char)
                self.at_line_start = char == "\n"
        self.stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def _setup(args: argparse.Namespace) -> None:
    """The only place relvec changes global state: library logging, torch threads and progress output."""
    import transformers

    transformers.logging.set_verbosity_error()
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    set_progress(not args.no_progress)
    if not args.no_progress and not sys.stderr.isatty() and not isinstance(sys.stderr, _LogLines):
        os.environ.setdefault("TQDM_MININTERVAL", "30")  # a progress line every 30 s in a log
        sys.stderr = _LogLines(sys.stderr)
