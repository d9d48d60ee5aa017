"""A static relation model: relation vectors at the speed of word vectors, distilled from a relvec teacher.

The pair network (:mod:`relvec.encoders.pair_network`) reads the teacher's own word vectors x = e(a), y = e(b)
(unit vectors of a word table) and predicts the teacher's prompt embedding p̂(a, b):

    h = relu(Wa·z(x) + Wb·z(y) + P·((U·z(x)) ⊙ (V·z(y))) + c),    f(a, b) = W2·h + b2

(z: an optional per-word layer). Wa·z, Wb·z, U·z and V·z depend on one word only, so they are computed once
per table word (:meth:`StaticRelationEncoder.tables`); a pair then costs a gather, an r×h product for the
low-rank bilinear term (which tells a:b from b:a) and the output layer. Like its teacher, the model can
be bidirectional and a hybrid with the offset ô = unit(e(b) − e(a)) of the same word vectors at weight w: its
vectors have the teacher's :class:`~relvec.encoders.layout.Layout`.

The rooms around it: the word table and its out-of-vocabulary fallback (:mod:`relvec.encoders.word_table`), the
pair-scoring engine of mining and completion (:mod:`relvec.encoders.pair_scoring`), the folder and its card
(:mod:`relvec.encoders.static_relation_files`). Loading a folder imports no transformers: the backbone is loaded
only when a word outside the table comes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.encoders.base import validate_pairs
from relvec.encoders.layout import Layout
from relvec.encoders.offset import WordVectors
from relvec.encoders.pair_network import PairNetwork
from relvec.encoders.pair_scoring import ENCODE_BLOCK, PairScorer, WordTables, pair_hidden
from relvec.encoders.static_relation_files import (
    NETWORK_FILE,
    STATIC_RELATION_MODEL_TYPE,
    TABLE_FILE,
    WORDS_FILE,
    read_static_relation,
    read_static_relation_config,
    save_static_relation,
    static_relation_card,
    static_relation_config,
)
from relvec.encoders.word_table import WordTable
from relvec.encoders.word_vectors import EncoderWordVectors
from relvec.precision import check_precision, compute_dtype

__all__ = [
    "NETWORK_FILE",
    "STATIC_RELATION_MODEL_TYPE",
    "TABLE_FILE",
    "WORDS_FILE",
    "StaticRelationEncoder",
    "read_static_relation_config",
    "static_relation_card",
]


class StaticRelationEncoder:
    """Word table + pair network, following the :class:`~relvec.encoders.base.PairEncoder` protocol and the
    :class:`~relvec.encoders.pair_scoring.RowScorer` one."""

    model_type = STATIC_RELATION_MODEL_TYPE

    def __init__(
        self,
        words: Sequence[str],
        table: np.ndarray | torch.Tensor,
        network: PairNetwork,
        backbone: str,
        bidirectional: bool = False,
        offset_weight: float | None = None,
        name_or_path: str = "",
        info: dict[str, Any] | None = None,
        fallback: EncoderWordVectors | None = None,
        precision: str = "auto",
    ) -> None:
        """``table``: unit word vectors of ``words`` (the teacher's); ``backbone``: the sentence encoder that
        made them (the out-of-vocabulary fallback, loaded when first needed unless ``fallback`` is given);
        ``offset_weight``: None for no offset part; ``precision``: the default of :meth:`encode` and scoring."""
        self.name_or_path = name_or_path or "static-relation"
        self.word_table = WordTable(words, table, backbone, self.name_or_path, fallback)
        if self.word_table.dim != network.dim:
            raise ValueError(
                f"{len(words)} words and a {network.dim}-dim network, but a table of shape "
                f"{tuple(self.word_table.matrix.shape)}"
            )
        self.network = network
        self.bidirectional = bool(bidirectional)
        self.precision = check_precision(precision)
        self.info = dict(info or {})
        self._tables: WordTables | None = None
        self.offset_weight = offset_weight  # sets the layout and the scorer

    @property
    def offset_weight(self) -> float | None:
        """The offset part's weight (None: no offset part); setting it re-lays the vectors out."""
        return self.layout.weight

    @offset_weight.setter
    def offset_weight(self, weight: float | None) -> None:
        self.layout = Layout(self.network.out_dim, self.network.dim, self.bidirectional, weight)
        self.scorer = PairScorer(self.network, self.layout, self.tables)

    # ------------------------------------------------------------------ the protocol
    @property
    def words(self) -> list[str]:
        return self.word_table.words

    @property
    def table(self) -> torch.Tensor:
        return self.word_table.matrix

    @property
    def index(self) -> dict[str, int]:
        """word -> table row (the table's own words)."""
        return self.word_table.index

    @property
    def backbone(self) -> str:
        return self.word_table.backbone

    @property
    def prompt_dim(self) -> int:
        return self.layout.prompt_width

    @property
    def embedding_dim(self) -> int:
        return self.layout.dim

    def word_vectors(self) -> WordVectors:
        """The word table as word vectors (completion's arithmetic and offsets use them)."""
        return self.word_table.word_vectors()

    def encode(
        self,
        pairs: Any,
        batch_size: int = 64,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        precision: str | None = None,
    ) -> np.ndarray | torch.Tensor:
        """Relation vectors (float32, input order; unit vectors, so ``normalize`` changes nothing). ``batch_size``
        and ``show_progress_bar`` are the protocol's (a static model computes in blocks of its own); ``precision``
        (default: the model's) "auto" runs the output layer's product in bf16 where the CPU has native bf16 (as
        the transformer encoders do), "fp32" keeps every product in fp32."""
        checked, single = validate_pairs(pairs, known=self.word_table.index)
        rows = self.word_table.rows_of([w for pair in checked for w in pair])  # head, tail, head, tail, …
        heads, tails = rows[0::2], rows[1::2]
        out = self.encode_rows(heads, tails, compute_dtype(precision or self.precision))
        result = out[0] if single else out
        return torch.from_numpy(result) if convert_to_tensor else result

    def encode_rows(self, heads: torch.Tensor, tails: torch.Tensor, dtype: torch.dtype = torch.float32) -> np.ndarray:
        """Relation vectors of (table row, table row) pairs: the fast path of :meth:`encode`. ``dtype`` bfloat16
        runs the output layer's product in bf16 (fp32 accumulation; ~1e-3 per component)."""
        tables, layout = self.tables(), self.layout
        out = np.empty((len(heads), layout.dim), dtype=np.float32)
        target = torch.from_numpy(out)
        with torch.inference_mode():
            w2t = self.network.w2.detach().to(dtype).T
            for start in range(0, len(heads), ENCODE_BLOCK):
                h, t = heads[start : start + ENCODE_BLOCK], tails[start : start + ENCODE_BLOCK]
                rows = target[start : start + len(h)]
                layout.write(rows, "forward", self._f(tables, h, t, w2t))
                if self.bidirectional:
                    layout.write(rows, "reversed", self._f(tables, t, h, w2t))
                if self.offset_weight is not None:
                    layout.write(rows, "offset", tables.vectors[t] - tables.vectors[h])
        return out

    def _f(self, tables: WordTables, heads: torch.Tensor, tails: torch.Tensor, w2t: torch.Tensor) -> torch.Tensor:
        """f of the rows' pairs, with the output layer's weights ``w2t`` (W2ᵀ, fp32 or bf16)."""
        low = None if w2t.dtype == torch.float32 else w2t.dtype
        return self.scorer.output(pair_hidden(tables, self.network, heads, tails, low), w2t)

    # ------------------------------------------------------------------ scoring (the RowScorer protocol)
    def rows_of(self, words: Sequence[str]) -> torch.Tensor:
        """Table rows of ``words`` (words outside the table are added after it, from the backbone)."""
        return self.word_table.rows_of(words)

    def query_parts(self, query: np.ndarray) -> dict[str, tuple[float, torch.Tensor]]:
        """A unit embedding split as its dot product with another one is (:meth:`Layout.split`)."""
        return self.layout.split(torch.as_tensor(np.asarray(query, dtype=np.float32)))

    def prompt_dots(
        self, heads: torch.Tensor, tails: torch.Tensor, targets: torch.Tensor, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """See :meth:`PairScorer.prompt_dots`."""
        return self.scorer.prompt_dots(heads, tails, targets, dtype)

    def offset_matrix(self, rows: torch.Tensor, part: tuple[float, torch.Tensor]) -> np.ndarray:
        """See :meth:`PairScorer.offset_matrix`."""
        return self.scorer.offset_matrix(rows, part)

    def score_rows(
        self, heads: torch.Tensor, tails: torch.Tensor, query: np.ndarray, dtype: torch.dtype = torch.float32
    ) -> np.ndarray:
        """cos(query, emb(head, tail)) for a unit ``query`` and table-row pairs, without building the vectors."""
        return self.scorer.score_rows(heads, tails, query, dtype)

    def tables(self) -> WordTables:
        """The :class:`WordTables` of every table word, plus the out-of-vocabulary words met so far (their parts
        are appended as they come: a new word never recomputes the table's)."""
        known = 0 if self._tables is None else len(self._tables.vectors)
        if known != len(self.word_table):
            fresh = self.word_table.new_rows(known)
            with torch.inference_mode():
                split = (self.network.word_parts(block) for block in fresh.split(16384))
                new = WordTables(*(torch.cat(chunk) for chunk in zip(*split, strict=True)), fresh)
            old = self._tables
            self._tables = new if old is None else WordTables(*(torch.cat(p) for p in zip(old, new, strict=True)))
        return self._tables

    def describe(self) -> dict[str, Any]:
        """What ``relvec info`` shows."""
        net = self.network
        pairs = self.info.get("pairs")
        return {
            "model_type": self.model_type,
            "embedding_dim": self.embedding_dim,
            "word_table": self.word_table.describe(),
            "pair_network": f"hidden {net.hidden}, rank {net.rank}, {net.out_dim} outputs"
            + (f", word layer {net.word_hidden}" if net.word_hidden else ""),
            "bidirectional": self.bidirectional,
            "offset_weight": "-" if self.offset_weight is None else f"{self.offset_weight:g}",
            "teacher": self.info.get("teacher", "-"),
            "distilled_on": f"{pairs:,} pairs" if isinstance(pairs, int) else "-",
            "precision": self.precision,
        }

    # ------------------------------------------------------------------ persistence
    def config(self) -> dict[str, Any]:
        return static_relation_config(self)

    def save_pretrained(self, directory: str | Path) -> Path:
        """words.json, the word table (float16), the network (float32), the side file and a model card, written
        atomically (:mod:`relvec.encoders.static_relation_files`)."""
        return save_static_relation(self, directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, precision: str = "auto") -> StaticRelationEncoder:
        """Load a saved folder (no transformer is loaded for in-vocabulary words); a damaged folder is refused
        with an error naming the file."""
        saved = read_static_relation(directory)
        return cls(
            saved.words,
            saved.table,
            saved.network,
            saved.backbone,
            saved.bidirectional,
            saved.offset_weight,
            name_or_path=str(directory),
            info=saved.info,
            precision=precision,
        )
