"""What the server allows and how it waits: the one source of ``relvec serve``'s defaults (the command line builds a
flag from each field, its help from the field's metadata). Light: no torch, no FastAPI."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


def _limit(default: float, help: str, flag: bool = True) -> Any:
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass(frozen=True)
class Limits:
    """What one request may ask (413 beyond it), how the batcher waits and how much model work may queue."""

    max_pairs: int = _limit(1024, "pairs per request (413 beyond)")
    max_word_chars: int = _limit(100, "characters per word (413 beyond)")
    max_body_bytes: int = _limit(1_000_000, "bytes per request body (413 beyond)")
    max_batch_pairs: int = _limit(512, "pairs per batched model call (/embed, /similarity, /analogy, /neighbours)")
    max_wait_ms: float = _limit(5.0, "how long a batch waits for more requests")
    max_queue: int = _limit(256, "model calls waiting per lane before requests get 503")
    workers: int = _limit(1, "threads for the heavy endpoints (/complete, /classify, /map), beside the batcher's")
    retry_after_s: int = _limit(5, "Retry-After of a 503 while a part warms up or the queue is full")
    map_points: int = _limit(2000, "pairs of the index drawn on the explorer's map")
    log_every_words: int = _limit(10_000, "a log line per this many completion-vocabulary words built", flag=False)

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or value < (0 if spec.name == "max_wait_ms" else 1):
                bound = ">= 0" if spec.name == "max_wait_ms" else ">= 1"
                raise ValueError(f"Limits.{spec.name} must be a number {bound}, got {value!r}")
            if spec.type in ("int", int) and not isinstance(value, int):
                raise ValueError(f"Limits.{spec.name} must be an integer, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        known = {spec.name for spec in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Limits: unknown field(s) {unknown}")
        return cls(**data)


class RequestError(Exception):
    """An answer other than 200: ``status``, a one-line message and, for a 503, when to retry."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
