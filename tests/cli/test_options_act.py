"""A flag is offered only where it acts, and acts wherever it is offered.

The walk: every subcommand's parser, every flag of it; the flag's value must be read by the command's handler or by
a command-line function the handler calls (read from the source with ``ast``: ``args.NAME``, ``getattr(args,
"NAME")``). Model options are read together by ``load_model_from_args`` / ``model_kwargs`` and become the model's
defaults (tested below on a model: ``encode()`` without arguments honours them).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from relvec.cli import build_parser
from relvec.cli.common import GLOBAL_FLAGS

CLI = Path(__file__).resolve().parents[2] / "src" / "relvec" / "cli"


def _functions() -> dict[str, list[ast.FunctionDef]]:
    """Every function defined in the command-line modules, by name."""
    found: dict[str, list[ast.FunctionDef]] = {}
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                found.setdefault(node.name, []).append(node)
    return found


def _dataclass_fields(name: str) -> set[str]:
    """The fields of the argument dataclass ``name``, found where a command-line module imports it."""
    import importlib

    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and any(alias.name == name for alias in node.names):
                cls = getattr(importlib.import_module(node.module), name)
                if dataclasses.is_dataclass(cls):
                    return {f.name for f in dataclasses.fields(cls)}
    raise AssertionError(f"values_given reads {name}, which no command-line module imports")


def _reads(function: ast.FunctionDef) -> tuple[set[str], set[str]]:
    """(attributes read off ``args``, names of the functions it calls)."""
    reads, calls = set(), set()
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "args":
            reads.add(node.attr)
        if isinstance(node, ast.Call):
            target = node.func
            given = isinstance(target, ast.Name) and target.id == "values_given" and len(node.args) == 2
            if given and isinstance(node.args[1], ast.Name):  # every field of that argument dataclass is read
                reads |= _dataclass_fields(node.args[1].id)
            if isinstance(target, ast.Name) and target.id == "getattr" and len(node.args) >= 2:
                first, name = node.args[0], node.args[1]
                if isinstance(first, ast.Name) and first.id == "args" and isinstance(name, ast.Constant):
                    reads.add(str(name.value))
            calls.add(target.id if isinstance(target, ast.Name) else getattr(target, "attr", ""))
    return reads, calls


def read_by(handler: str, functions: dict[str, list[ast.FunctionDef]]) -> set[str]:
    """Every ``args`` attribute the handler and the command-line functions it reaches read."""
    seen, todo, reads = set(), [handler], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for function in functions.get(name, []):
            more, calls = _reads(function)
            reads |= more
            todo += [c for c in calls if c in functions]
    return reads


def leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), handler: str | None = None):
    """(command path, parser, handler name) for every subcommand that runs something."""
    handler = getattr(parser._defaults.get("handler"), "__name__", handler)
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser, handler
    for action in subs:
        for name, child in action.choices.items():
            yield from leaf_parsers(child, (*path, name), handler)


def _limit_flags() -> set[str]:
    from relvec.serve.limits import Limits

    return {f.name for f in dataclasses.fields(Limits) if f.metadata.get("flag", True)}


def test_every_flag_of_every_subcommand_is_read_by_its_command():
    functions = _functions()
    global_dests = {flag.lstrip("-").replace("-", "_") for flag in GLOBAL_FLAGS}
    problems, walked = [], 0
    for path, parser, handler in leaf_parsers(build_parser()):
        assert handler, f"relvec {' '.join(path)} has no handler"
        reads = read_by(handler, functions)
        elsewhere = _limit_flags() if path == ("serve",) else set()  # read by limits_from_args (tested below)
        for action in parser._actions:
            dest = action.dest
            if dest in ("help", argparse.SUPPRESS) or dest in global_dests or dest in elsewhere:
                continue
            walked += 1
            if dest not in reads:
                problems.append(f"relvec {' '.join(path)} {'/'.join(action.option_strings) or dest}: never read")
    assert walked > 100  # the walk saw the commands
    assert not problems, "\n".join(problems)


def test_the_walk_catches_a_flag_nobody_reads(monkeypatch):
    source = "def cmd_x(args):\n    return helper(args)\n\ndef helper(args):\n    return args.used\n"
    functions = {n.name: [n] for n in ast.parse(source).body}
    assert read_by("cmd_x", functions) == {"used"}


def test_every_limit_flag_reaches_the_limits():
    from relvec.cli.serve import limits_from_args

    parser = build_parser()
    argv = ["serve", "m"]
    for name in sorted(_limit_flags()):
        argv += ["--" + name.replace("_", "-"), "7"]
    limits = limits_from_args(parser.parse_args(argv))
    assert all(getattr(limits, name) == 7 for name in _limit_flags())
    with pytest.raises(ValueError, match="--max-queue"):
        limits_from_args(parser.parse_args(["serve", "m", "--max-queue", "0"]))


def test_the_global_flags_are_read_by_main():
    reads = read_by("main", _functions())
    assert {"debug", "threads", "no_progress"} <= reads


def test_serve_takes_the_model_options_every_model_command_takes():
    parser = build_parser()
    args = parser.parse_args(["serve", "m", "--precision", "fp32", "--template", "a", "--pooling", "mask"])
    assert (args.precision, args.template, args.pooling, args.runtime) == ("fp32", "a", "mask", "torch")


def test_load_model_keeps_the_precision_as_the_default_of_encode(tiny_dir, monkeypatch):
    from relvec.encoders import prompt
    from relvec.loading import load_model

    seen = []
    original = prompt.resolve_precision
    monkeypatch.setattr(prompt, "resolve_precision", lambda p, d: seen.append(p) or original(p, d))
    model = load_model(str(tiny_dir), precision="fp32")
    assert model.precision == "fp32"
    model.encode([("cat", "kitten")])
    assert seen == ["fp32"]
    model.encode([("cat", "kitten")], precision="bf16")  # an explicit choice still wins
    assert seen[-1] == "bf16"
    with pytest.raises(ValueError, match="precision"):
        load_model(str(tiny_dir), precision="fp16")


def test_complete_precision_reaches_the_static_model_scoring(monkeypatch, tmp_path, capsys):
    """`relvec complete --precision fp32` turns the bf16 pass off (it was ignored)."""
    import torch
    from static_relation_toy import toy_student

    from relvec.cli import main
    from relvec.encoders import pair_scoring

    model, words = toy_student(True, 0.5)
    folder = tmp_path / "student"
    model.save_pretrained(folder)
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(words) + "\n")
    dtypes = []
    original = pair_scoring.PairScorer.prompt_dots

    def recording(self, heads, tails, targets, dtype=torch.float32):
        dtypes.append(dtype)
        return original(self, heads, tails, targets, dtype)

    monkeypatch.setattr(pair_scoring.PairScorer, "prompt_dots", recording)
    monkeypatch.setattr("relvec.completion._SHORTLIST", 3)  # the toy vocabulary is larger than the shortlist
    for precision, expected in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        dtypes.clear()
        argv = ["complete", "--model", str(folder), "w1:w2", "w3", "--exhaustive", "--vocab", str(vocab)]
        assert main([*argv, "--precision", precision, "--json", "--no-progress"]) == 0
        assert dtypes and dtypes[0] == expected
    assert np.isfinite(len(capsys.readouterr().out))
