"""The word table of a static relation model: its words' unit vectors, plus the out-of-vocabulary words met so far.

A word outside the table gets its vector from the backbone that made the table (a sentence encoder's word vector,
:mod:`relvec.encoders.word_vectors`, local files only), computed once and kept after the table's rows, so no pair
fails for being out of vocabulary. The backbone (and transformers with it) is loaded only when such a word comes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from relvec.encoders.offset import WordVectors
from relvec.encoders.word_vectors import EncoderWordVectors
from relvec.files import short_repr


class WordTable:
    """``words`` and their vectors (rows of ``matrix``); rows after ``len(words)`` are out-of-vocabulary words."""

    def __init__(
        self,
        words: Sequence[str],
        matrix: np.ndarray | torch.Tensor,
        backbone: str,
        owner: str = "",
        fallback: EncoderWordVectors | None = None,
    ) -> None:
        """``backbone``: the sentence encoder that made the vectors (the fallback for new words, loaded when first
        needed unless ``fallback`` is given); ``owner``: the model's name, for error messages."""
        table = torch.as_tensor(np.asarray(matrix, dtype=np.float32))
        if table.ndim != 2 or table.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a word table of shape {tuple(table.shape)}")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("the word table repeats a word")
        self.matrix = table
        self.backbone, self.owner = backbone, owner
        self._fallback = fallback
        self.extra: dict[str, torch.Tensor] = {}  # out-of-vocabulary words' vectors, in the order they came

    def __len__(self) -> int:
        """Rows known so far: the table's and the out-of-vocabulary words'."""
        return len(self.words) + len(self.extra)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def new_rows(self, known: int) -> torch.Tensor:
        """The vectors of rows ``known`` and after (the whole table when ``known`` is 0)."""
        blocks = [self.matrix[known:]] if known < len(self.words) else []
        extra = list(self.extra.values())[max(0, known - len(self.words)) :]
        if extra:
            blocks.append(torch.stack(extra))
        return torch.cat(blocks) if len(blocks) > 1 else blocks[0] if blocks else self.matrix[:0]

    def rows(self, words: Iterable[str]) -> dict[str, int]:
        """The row of every word (words outside the table are added after it, from the backbone)."""
        wanted = set(words)
        missing = sorted(w for w in wanted if w not in self.index and w not in self.extra)
        if missing:
            self._add(missing)
        extra_rows = {w: len(self.words) + i for i, w in enumerate(self.extra)}
        return {w: self.index[w] if w in self.index else extra_rows[w] for w in wanted}

    def rows_of(self, words: Sequence[str]) -> torch.Tensor:
        """Rows of ``words``, in order, as a tensor of indices (table words by direct lookup; any other word is
        added first, by :meth:`rows`)."""
        try:
            return torch.as_tensor([self.index[w] for w in words], dtype=torch.long)
        except KeyError:
            rows = self.rows(words)
            return torch.as_tensor([rows[w] for w in words], dtype=torch.long)

    def word_vectors(self) -> WordVectors:
        """The table as word vectors (completion's arithmetic and offsets use them)."""
        return WordVectors(self.words, self.matrix.numpy(), name=f"table:{self.backbone}", lowercase=False)

    def _add(self, words: Sequence[str]) -> None:
        if self._fallback is None:
            try:
                self._fallback = EncoderWordVectors(self.backbone, local_files_only=True, referrer=self.owner)
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"{short_repr(words[0])} is not in {self.owner}'s word table and its backbone "
                    f"{self.backbone!r} is not installed to compute it ({str(exc).splitlines()[0][:80]})"
                ) from None
        self._fallback.prefetch(words, show_progress_bar=False)
        for word in words:
            vector = self._fallback.lookup(word)
            if vector is None:
                raise ValueError(f"no vector for {short_repr(word)} from backbone {self.backbone!r}")
            self.extra[word] = torch.as_tensor(np.asarray(vector, dtype=np.float32))

    def describe(self) -> str:
        return f"{len(self.words):,} words of {self.backbone} (out-of-vocabulary: computed by it)"
