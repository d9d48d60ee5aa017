"""What every relvec model shares: the pair type, input validation and the ``PairEncoder`` protocol."""

from __future__ import annotations

from collections.abc import Container, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import torch

from relvec.files import short_repr
from relvec.text import word_problem

Pair = tuple[str, str]


@runtime_checkable
class PairEncoder(Protocol):
    """The interface of every model kind (prompt encoder, static offset, hybrid).

    ``encode`` takes one pair (1-D result) or a sequence of pairs (2-D float32 in input order), returns
    numpy (a tensor with ``convert_to_tensor``), and validates its input with :func:`validate_pairs`; its
    ``precision=None`` means the model's own :attr:`precision`. ``describe()`` is what ``relvec info`` shows.
    """

    name_or_path: str
    precision: str  # the default of ``encode`` ("auto", "fp32", "bf16"; relvec.options.PRECISIONS)

    @property
    def embedding_dim(self) -> int: ...

    def encode(
        self,
        pairs: Any,
        batch_size: int = 64,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        precision: str | None = None,
    ) -> np.ndarray | torch.Tensor: ...

    def describe(self) -> dict[str, Any]: ...

    def save_pretrained(self, directory: str | Path) -> Path: ...


# Optional on a model kind: ``word_vectors()``, the word vectors that go with it (an offset model's own, a
# hybrid's offset part, a relation encoder's backbone); completion and distillation ask for them this way.


def validate_pairs(pairs: Any, known: Container[str] | None = None) -> tuple[list[Pair], bool]:
    """Check pairs and return them stripped, with a flag telling whether a single pair was given.

    Errors name the pair's index and the offending word (see :func:`relvec.text.word_problem`). A tuple of two
    words of ``known`` (a vocabulary of checked, stripped words) is taken as it is: the fast path of models with a
    word table.
    """
    if _is_pair_like(pairs) and all(isinstance(x, str) for x in pairs):
        return [_check_pair(0, pairs)], True
    if known is not None and isinstance(pairs, list):
        return [
            p if type(p) is tuple and len(p) == 2 and p[0] in known and p[1] in known else _check_pair(i, p)
            for i, p in enumerate(pairs)
        ], False
    if isinstance(pairs, np.ndarray) and pairs.ndim == 0:
        raise ValueError(f"pairs must be a pair (a, b) or a sequence of pairs, got a 0-d array {short_repr(pairs)}")
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence | np.ndarray):
        raise ValueError(f"pairs must be a pair (a, b) or a sequence of pairs, got {short_repr(pairs)}")
    return [_check_pair(i, p) for i, p in enumerate(pairs)], False


def _is_pair_like(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2


def _check_pair(index: int, pair: Any) -> Pair:
    if isinstance(pair, np.ndarray):
        pair = pair.tolist()
    if not _is_pair_like(pair):
        raise ValueError(f"pair {index} must be a sequence of exactly two strings, got {short_repr(pair)}")
    for word in pair:
        problem = word_problem(word)
        if problem:
            raise ValueError(f"pair {index} {short_repr(pair)}: word {short_repr(word)} {problem}")
    return pair[0].strip(), pair[1].strip()
