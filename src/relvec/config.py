"""The versioned side file (``relvec_config.json``) that makes a saved model folder describe itself.

Format policy: every file carries ``format_version``. Readers accept every version up to
``FORMAT_VERSION`` and upgrade older dicts one step at a time through ``_MIGRATIONS`` before
building the dataclass, so a key rename in a future release never strands old checkpoints.
Keys this version does not know are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from relvec.files import read_json, write_json
from relvec.options import DEFAULT_POOLING, POOLING_MODES
from relvec.prompts import DEFAULT_TEMPLATE, PromptShape, resolve_template

CONFIG_NAME = "relvec_config.json"
FORMAT_VERSION = 1
DEFAULT_MAX_LENGTH = 64

# version -> function upgrading a dict of that version to version + 1.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass
class RelvecConfig:
    """What a relation encoder needs besides the backbone weights."""

    template: str = DEFAULT_TEMPLATE
    pooling: str = DEFAULT_POOLING
    max_length: int = DEFAULT_MAX_LENGTH
    backbone: str = ""
    relvec_version: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    # A learned prompt (relvec.learned_prompts): method, shape, trigger ids / prompt-encoder file, settings.
    prompt: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        self.template = resolve_template(self.template)
        if self.pooling not in POOLING_MODES:
            raise ValueError(f"pooling must be one of {POOLING_MODES}, got {self.pooling!r}")
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int) or self.max_length < 8:
            raise ValueError(f"max_length must be an integer >= 8, got {self.max_length!r}")
        if not isinstance(self.training, dict):
            raise ValueError(f"training must be a dict, got {type(self.training).__name__}")
        if self.prompt:
            validate_learned_prompt(self.prompt)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        return {**extra, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RelvecConfig:
        data = migrate(dict(data))
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known and k != "extra"}
        kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
        return cls(**kwargs)

    def save(self, directory: str | Path) -> Path:
        return write_json(Path(directory) / CONFIG_NAME, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> RelvecConfig:
        path = Path(path)
        if path.is_dir():
            path = path / CONFIG_NAME
        data = read_json(path)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc


LEARNED_METHODS = ("autoprompt", "ptuning")


def validate_learned_prompt(prompt: dict[str, Any]) -> None:
    """Check the ``prompt`` section of a config (raises ValueError naming the problem)."""
    if not isinstance(prompt, dict):
        raise ValueError(f"prompt must be a dict, got {type(prompt).__name__}")
    method = prompt.get("method")
    if method not in LEARNED_METHODS:
        raise ValueError(f"prompt.method must be one of {LEARNED_METHODS}, got {method!r}")
    shape = PromptShape.parse(prompt.get("shape", ""))
    if method == "autoprompt":
        ids = prompt.get("trigger_ids")
        if not isinstance(ids, list) or len(ids) != shape.num_triggers or not all(isinstance(i, int) for i in ids):
            raise ValueError(f"an autoprompt prompt needs {shape.num_triggers} integer trigger_ids, got {ids!r}")


def read_typed_config(folder: str | Path, model_type: str) -> dict[str, Any] | None:
    """The side file of a folder holding a non-transformer model (``model_type`` key), or None when the
    folder holds something else. Such files share ``format_version`` and its policy."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        return None
    data = read_json(path)
    if not isinstance(data, dict) or data.get("model_type") != model_type:
        return None
    version = data.get("format_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {version!r} is not one this relvec reads; upgrade relvec")
    return data


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a config dict of any known older ``format_version`` to the current one."""
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"format_version must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"format_version {version} was written by a newer relvec; this relvec reads up to "
            f"version {FORMAT_VERSION}. Upgrade relvec to load this model."
        )
    if version < 1:
        raise ValueError(f"unknown format_version {version}")
    while version < FORMAT_VERSION:
        data = _MIGRATIONS[version](data)
        version += 1
        data["format_version"] = version
    return data
