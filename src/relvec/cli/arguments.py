"""Command-line flags generated from self-documenting argument dataclasses (help and choices in metadata)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

_TYPES = {"int": int, "float": float}
_GLOBAL = {"data_dir"}  # given by the global --data-dir flag


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per field: its help (with the default) and choices come from the field's metadata.

    Every flag defaults to None, so only the flags given override a preset or a config file.
    """
    presets = getattr(cls, "presets", {})
    for f in dataclasses.fields(cls):
        if f.name in _GLOBAL:
            continue
        flags = [f"--{f.name.replace('_', '-')}", *(["--output"] if f.name == "output_dir" else [])]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        shown = ",".join(default) if isinstance(default, list) else default
        help_text = f"{f.metadata.get('help', '')} (default: {'-' if shown in (None, []) else shown})"
        choices = list(presets) if f.name == "preset" else f.metadata.get("choices")
        kwargs: dict[str, Any] = {"dest": f.name, "default": None, "help": help_text}
        if str(f.type) == "bool":
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, **kwargs)
        else:
            kind = _TYPES.get(str(f.type), str)
            parser.add_argument(*flags, type=kind, choices=list(choices) if choices else None, **kwargs)


def values_given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The dataclass fields set on the command line (flags left out are None and not returned)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}
