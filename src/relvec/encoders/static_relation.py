"""A static relation model: relation vectors at the speed of word vectors, distilled from a relvec teacher.

The pair network (:mod:`relvec.encoders.pair_network`) reads the teacher's own word vectors x = e(a), y = e(b)
(unit vectors of a word table) and predicts the teacher's prompt embedding p̂(a, b):

    h = relu(Wa·z(x) + Wb·z(y) + P·((U·z(x)) ⊙ (V·z(y))) + c),    f(a, b) = W2·h + b2

(z: an optional per-word layer). Wa·z, Wb·z, U·z and V·z depend on one word only, so they are computed once
per table word (:meth:`StaticRelationEncoder.tables`); a pair then costs a gather, an r×h product for the
low-rank bilinear term (which tells a:b from b:a) and the output layer. Like its teacher, the model can
be bidirectional, [f̂(a, b) ; f̂(b, a)] / √2, and a hybrid with the offset ô = unit(e(b) − e(a)) of the same word
vectors at weight w (:func:`relvec.encoders.hybrid.mixing_factors`), so its vectors have the teacher's shape.

A word outside the table gets its vector from the backbone that made the table (a sentence encoder's word
vector, computed on demand and cached; local files only), so no pair fails for being out of vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from relvec.cards import render_card, write_card
from relvec.config import CONFIG_NAME, FORMAT_VERSION, read_typed_config
from relvec.encoders.base import Pair, validate_pairs
from relvec.encoders.hybrid import mixing_factors
from relvec.encoders.pair_network import PairNetwork
from relvec.encoders.static import WordVectors
from relvec.encoders.word_vectors import EncoderWordVectors
from relvec.files import FileFormatError, read_json, read_safetensors, save_into, short_repr, write_json
from relvec.precision import resolve_precision
from relvec.version import __version__

STATIC_RELATION_MODEL_TYPE = "static_relation"
TABLE_FILE = "word_table.safetensors"
WORDS_FILE = "words.json"
NETWORK_FILE = "pair_network.safetensors"
_BLOCK = 8192  # pairs per matrix product in encode


class StaticRelationEncoder:
    """Word table + pair network, following the :class:`~relvec.encoders.base.PairEncoder` protocol."""

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
    ) -> None:
        """``table``: unit word vectors of ``words`` (the teacher's); ``backbone``: the sentence encoder that
        made them (the out-of-vocabulary fallback, loaded when first needed unless ``fallback`` is given);
        ``offset_weight``: None for no offset part."""
        matrix = torch.as_tensor(np.asarray(table, dtype=np.float32))
        if matrix.ndim != 2 or matrix.shape[0] != len(words) or matrix.shape[1] != network.dim:
            raise ValueError(
                f"{len(words)} words and a {network.dim}-dim network, but a table of shape {tuple(matrix.shape)}"
            )
        if offset_weight is not None:
            mixing_factors(offset_weight)  # validates
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("the word table repeats a word")
        self.table = matrix
        self.network = network
        self.backbone = backbone
        self.bidirectional = bool(bidirectional)
        self.offset_weight = offset_weight
        self.name_or_path = name_or_path or "static-relation"
        self.info = dict(info or {})
        self._tables: tuple[torch.Tensor, ...] | None = None
        self._squares: torch.Tensor | None = None  # |e(w)|² of the table rows, for offset scores
        self._fallback: EncoderWordVectors | None = fallback
        self._extra: dict[str, torch.Tensor] = {}  # out-of-vocabulary words' vectors, computed once

    # ------------------------------------------------------------------ the protocol
    @property
    def prompt_dim(self) -> int:
        return self.network.out_dim * (2 if self.bidirectional else 1)

    @property
    def embedding_dim(self) -> int:
        return self.prompt_dim + (self.network.dim if self.offset_weight is not None else 0)

    def word_vectors(self) -> WordVectors:
        """The word table as word vectors (completion's arithmetic and offsets use them)."""
        return WordVectors(self.words, self.table.numpy(), name=f"table:{self.backbone}", lowercase=False)

    def encode(
        self,
        pairs: Any,
        batch_size: int = 64,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        precision: str = "auto",
    ) -> np.ndarray | torch.Tensor:
        """Relation vectors (float32, input order; unit vectors, so ``normalize`` changes nothing). ``batch_size``
        and ``show_progress_bar`` are the protocol's (a static model computes in blocks of its own); ``precision``
        "auto" runs the output layer's product in bf16 where the CPU has native bf16 (as the transformer
        encoders do), "fp32" keeps every product in fp32."""
        checked, single = validate_pairs(pairs)
        rows = self._rows(checked)
        heads = torch.as_tensor([rows[a] for a, _ in checked], dtype=torch.long)
        tails = torch.as_tensor([rows[b] for _, b in checked], dtype=torch.long)
        out = self.encode_rows(heads, tails, resolve_precision(precision, torch.device("cpu")))
        result = out[0] if single else out
        return torch.from_numpy(result) if convert_to_tensor else result

    def encode_rows(self, heads: torch.Tensor, tails: torch.Tensor, precision: str = "fp32") -> np.ndarray:
        """Relation vectors of (table row, table row) pairs: the fast path of :meth:`encode`, mining and completion.
        ``precision`` "bf16" runs the output layer's product in bf16 (fp32 accumulation; ~1e-3 per component)."""
        parts = self.tables()
        out = np.empty((len(heads), self.embedding_dim), dtype=np.float32)
        target = torch.from_numpy(out)
        a, b = self._factors()
        scale = a / math.sqrt(2.0) if self.bidirectional else a
        width = self.network.out_dim
        low = precision == "bf16"
        with torch.inference_mode():
            w2 = self.network.w2.detach().to(torch.bfloat16 if low else torch.float32).T
            for start in range(0, len(heads), _BLOCK):
                h, t = heads[start : start + _BLOCK], tails[start : start + _BLOCK]
                rows = target[start : start + len(h)]
                self._write_unit(rows[:, :width], self._f(parts, h, t, w2), scale)
                if self.bidirectional:
                    self._write_unit(rows[:, width : 2 * width], self._f(parts, t, h, w2), scale)
                if self.offset_weight is not None:
                    self._write_unit(rows[:, self.prompt_dim :], parts[4][t] - parts[4][h], b)
        return out

    @staticmethod
    def _write_unit(view: torch.Tensor, x: torch.Tensor, scale: float) -> None:
        """view = scale · x / |x| row by row (written in place: no concatenated copy)."""
        torch.mul(x, scale / x.norm(dim=1, keepdim=True).clamp_min(1e-12), out=view)

    def rows_of(self, words: Sequence[str]) -> torch.Tensor:
        """Table rows of ``words`` (words outside the table are added after it, from the backbone)."""
        rows = self._rows([(w, w) for w in words])
        return torch.as_tensor([rows[w] for w in words], dtype=torch.long)

    def prompt_dots(
        self, heads: torch.Tensor, tails: torch.Tensor, targets: torch.Tensor, fast: bool = False
    ) -> torch.Tensor:
        """(pairs, targets) dot products of the unit prompt vectors f̂(head, tail) with each row of ``targets``
        (out_dim columns), computed block by block without keeping the vectors. ``fast``: the large products in
        bf16 (scores to ~1e-2; for a shortlist that is then scored exactly)."""
        # When hidden < out_dim, f = W2·h + b2 is never built: f·q = h·(W2ᵀq) + b2·q and
        # |f|² = hᵀ(W2ᵀW2)h + 2(W2ᵀb2)·h + |b2|² cost hidden² per pair instead of hidden·out_dim; a wider network
        # builds f (hidden·out_dim) and takes its dots directly.
        parts, net = self.tables(), self.network
        low = torch.bfloat16 if fast else torch.float32
        with torch.inference_mode():
            w2, b2 = net.w2.detach(), net.b2.detach()
            through_gram = net.hidden < net.out_dim
            if through_gram:
                projected, shift = (w2.T @ targets.T).to(low), targets @ b2
                gram, lift, bias = (w2.T @ w2).to(low), w2.T @ b2, b2 @ b2
            else:
                w2t, targets_t = w2.T.to(low), targets.T.contiguous()
            out = torch.empty((len(heads), targets.shape[0]), dtype=torch.float32)
            fixed = self._fixed_word(heads, tails, low)
            for start in range(0, len(heads), _BLOCK):
                h, t = heads[start : start + _BLOCK], tails[start : start + _BLOCK]
                if fixed is None:
                    hidden = net.hidden_of(*self._gather(parts, h, t), low=low)
                else:
                    head_shared, hidden_of_others = fixed
                    hidden = hidden_of_others(t if head_shared else h)
                if through_gram:
                    hidden_low = hidden.to(low)
                    squared = ((hidden_low @ gram).float() * hidden).sum(1) + 2 * (hidden @ lift) + bias
                    norm = squared.clamp_min(1e-24).sqrt().clamp_min(1e-12)
                    out[start : start + len(h)] = ((hidden_low @ projected).float() + shift) / norm[:, None]
                else:
                    f = self._output(hidden, w2t)
                    out[start : start + len(h)] = (f @ targets_t) / f.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return out

    @staticmethod
    def _gather(parts: tuple[torch.Tensor, ...], heads: torch.Tensor, tails: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return parts[0][heads], parts[1][tails], parts[2][heads], parts[3][tails]

    @staticmethod
    def _shared_word(heads: torch.Tensor, tails: torch.Tensor) -> tuple[bool, int] | None:
        """(True, row) when every pair has the head ``row`` (completion: C:?), (False, row) when every pair has
        the tail ``row``, else None."""
        for head_shared, same in ((True, heads), (False, tails)):
            if len(same) and bool((same == same[0]).all()):
                return head_shared, int(same[0])
        return None

    def _fixed_word(
        self, heads: torch.Tensor, tails: torch.Tensor, low: torch.dtype = torch.float32
    ) -> tuple[bool, Any] | None:
        """When the pairs share a word (:meth:`_shared_word`), (head shared?, h of the other words' rows) as one
        product (in ``low`` precision): the shared word's Wa·x + c is a constant and
        (U·x ⊙ V·y)·Pᵀ = V·y · (diag(U·x)·Pᵀ)."""
        shared = self._shared_word(heads, tails) if len(heads) > 1 else None
        if shared is None:
            return None
        head_shared, row = shared
        parts, net = self.tables(), self.network
        own, other = (0, 2) if head_shared else (1, 3)  # the shared word's linear and bilinear parts
        constant = parts[own][row] + net.c.detach()
        mixed = (parts[other][row][:, None] * net.p.detach().T).to(low)
        linear, bilinear = (parts[1], parts[3]) if head_shared else (parts[0], parts[2])
        return head_shared, lambda rows: torch.relu(linear[rows] + constant + (bilinear[rows].to(low) @ mixed).float())

    def query_parts(self, query: np.ndarray) -> dict[str, Any]:
        """A unit embedding split as its dot product with another one is: prompt halves (forward, reversed) and
        offset, each with its factor, so cos(query, emb(h, t)) = Σ factor · part · (the pair's own part)."""
        q = torch.as_tensor(np.asarray(query, dtype=np.float32))
        a, b = self._factors()
        out_dim = self.network.out_dim
        if self.bidirectional:
            scale = a / math.sqrt(2.0)
            parts = {"forward": (scale, q[:out_dim]), "reversed": (scale, q[out_dim : 2 * out_dim])}
        else:
            parts = {"forward": (a, q[:out_dim])}
        if self.offset_weight is not None:
            parts["offset"] = (b, q[self.prompt_dim :])
        return parts

    def score_rows(self, heads: torch.Tensor, tails: torch.Tensor, query: np.ndarray, fast: bool = False) -> np.ndarray:
        """cos(query, emb(head, tail)) for unit ``query`` and table-row pairs, without building the embeddings
        (``fast``: see :meth:`prompt_dots`)."""
        parts = self.query_parts(query)
        scale, forward = parts["forward"]
        scores = scale * self.prompt_dots(heads, tails, forward[None], fast)[:, 0]
        if "reversed" in parts:
            scale, backward = parts["reversed"]
            scores += scale * self.prompt_dots(tails, heads, backward[None], fast)[:, 0]
        if "offset" in parts:
            scale, offset = parts["offset"]
            scores += scale * self._offset_dots(heads, tails, offset)
        return scores.numpy()

    def _offset_dots(self, heads: torch.Tensor, tails: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """unit(e(t) − e(h))·q from per-word numbers: (e(t)·q − e(h)·q) / √(|e(t)|² + |e(h)|² − 2 e(t)·e(h));
        when the pairs share a word (completion), its dots come from one product over the other words."""
        vectors = self.tables()[4]
        with torch.inference_mode():
            if self._squares is None or len(self._squares) != len(vectors):
                self._squares = (vectors * vectors).sum(1)
            squares = self._squares
            shared = self._shared_word(heads, tails)
            if shared is not None:
                head_shared, row = shared
                word, others, sign = vectors[row], (tails if head_shared else heads), (1.0 if head_shared else -1.0)
                dots = self._word_dots(others, torch.stack([target, word], dim=1))
                along, cross = sign * (dots[:, 0] - word @ target), dots[:, 1]
            else:
                along = self._word_dots(tails, target[:, None])[:, 0] - self._word_dots(heads, target[:, None])[:, 0]
                blocks = zip(heads.split(_BLOCK), tails.split(_BLOCK), strict=True)
                cross = torch.cat([(vectors[h] * vectors[t]).sum(1) for h, t in blocks])
            distance = (squares[tails] + squares[heads] - 2 * cross).clamp_min(0).sqrt().clamp_min(1e-12)
            return along / distance

    def _word_dots(self, rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """``vectors[rows] @ columns``, over the whole table first when ``rows`` cover much of it."""
        vectors = self.tables()[4]
        return vectors[rows] @ columns if 2 * len(rows) < len(vectors) else (vectors @ columns)[rows]

    def tables(self) -> tuple[torch.Tensor, ...]:
        """(Wa·x, Wb·x, U·x, V·x, x) for every table word, plus the out-of-vocabulary words met so far (their parts
        are appended as they come: a new word never recomputes the table's)."""
        known = 0 if self._tables is None else len(self._tables[0])
        if known != len(self.table) + len(self._extra):
            blocks = [self.table] if known == 0 else []
            extra = list(self._extra.values())[max(0, known - len(self.table)) :]
            if extra:
                blocks.append(torch.stack(extra))
            fresh = torch.cat(blocks) if len(blocks) > 1 else blocks[0]
            with torch.inference_mode():
                split = (self.network.word_parts(block) for block in fresh.split(16384))
                new = (*(torch.cat(chunk) for chunk in zip(*split, strict=True)), fresh)
            old = self._tables
            self._tables = new if old is None else tuple(torch.cat([a, b]) for a, b in zip(old, new, strict=True))
        return self._tables

    def _f(
        self, parts: tuple[torch.Tensor, ...], heads: torch.Tensor, tails: torch.Tensor, w2t: torch.Tensor
    ) -> torch.Tensor:
        """f of the rows' pairs, with the output layer's weights ``w2t`` (W2ᵀ, fp32 or bf16)."""
        return self._output(self.network.hidden_of(*self._gather(parts, heads, tails)), w2t)

    def _output(self, hidden: torch.Tensor, w2t: torch.Tensor) -> torch.Tensor:
        """f = W2·h + b2 (float32) from the hidden layer, the product in ``w2t``'s precision."""
        if w2t.dtype == torch.float32:
            return torch.addmm(self.network.b2.detach(), hidden, w2t)
        return (hidden.to(w2t.dtype) @ w2t).float() + self.network.b2.detach()

    def _factors(self) -> tuple[float, float]:
        """(prompt factor, offset factor) of the embedding; (1, 0) without an offset part."""
        return mixing_factors(self.offset_weight) if self.offset_weight is not None else (1.0, 0.0)

    def _rows(self, pairs: Sequence[Pair]) -> dict[str, int]:
        """Table row of every word of ``pairs``; words outside the table get rows after it (their vectors from
        the backbone)."""
        words = {w for pair in pairs for w in pair}
        missing = sorted(w for w in words if w not in self.index and w not in self._extra)
        if missing:
            self._add_words(missing)
        extra_rows = {w: len(self.table) + i for i, w in enumerate(self._extra)}
        return {w: self.index[w] if w in self.index else extra_rows[w] for w in words}

    def _add_words(self, words: Sequence[str]) -> None:
        if self._fallback is None:
            try:
                self._fallback = EncoderWordVectors(self.backbone, local_files_only=True, referrer=self.name_or_path)
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"{short_repr(words[0])} is not in {self.name_or_path}'s word table and its backbone "
                    f"{self.backbone!r} is not installed to compute it ({str(exc).splitlines()[0][:80]})"
                ) from None
        self._fallback.prefetch(words, show_progress_bar=False)
        for word in words:
            vector = self._fallback.lookup(word)
            if vector is None:
                raise ValueError(f"no vector for {short_repr(word)} from backbone {self.backbone!r}")
            self._extra[word] = torch.as_tensor(np.asarray(vector, dtype=np.float32))

    def describe(self) -> dict[str, Any]:
        """What ``relvec info`` shows."""
        return {
            "model_type": self.model_type,
            "embedding_dim": self.embedding_dim,
            "word_table": f"{len(self.words):,} words of {self.backbone} (out-of-vocabulary: computed by it)",
            "pair_network": f"hidden {self.network.hidden}, rank {self.network.rank}, {self.network.out_dim} outputs"
            + (f", word layer {self.network.word_hidden}" if self.network.word_hidden else ""),
            "bidirectional": self.bidirectional,
            "offset_weight": "-" if self.offset_weight is None else f"{self.offset_weight:g}",
            "teacher": self.info.get("teacher", "-"),
            "distilled_on": f"{pairs:,} pairs" if isinstance(pairs := self.info.get("pairs"), int) else "-",
        }

    # ------------------------------------------------------------------ persistence
    def config(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "model_type": STATIC_RELATION_MODEL_TYPE,
            "relvec_version": __version__,
            "backbone": self.backbone,
            "bidirectional": self.bidirectional,
            "offset_weight": self.offset_weight,
            "dim": self.network.dim,
            "hidden": self.network.hidden,
            "rank": self.network.rank,
            "out_dim": self.network.out_dim,
            "word_hidden": self.network.word_hidden,
            "embedding_dim": self.embedding_dim,
            "words": len(self.words),
            "table_dtype": "float16",
            "distillation": self.info,
        }

    def save_pretrained(self, directory: str | Path) -> Path:
        """words.json, the word table (float16 safetensors), the network (float32 safetensors), the side file
        and a model card; written atomically, the side file last."""
        directory = Path(directory)
        network = {k: v.detach().float().contiguous() for k, v in self.network.state_dict().items()}

        def write(staging: Path) -> None:
            write_json(staging / WORDS_FILE, self.words)
            save_file({"vectors": self.table.half().contiguous()}, str(staging / TABLE_FILE))
            save_file(network, str(staging / NETWORK_FILE))
            write_card(staging, directory, static_relation_card(self, directory))
            write_json(staging / CONFIG_NAME, self.config())

        return save_into(directory, write, last=(CONFIG_NAME,))

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> StaticRelationEncoder:
        """Load a saved folder (no transformer is loaded for in-vocabulary words); a damaged folder is refused
        with an error naming the file."""
        folder = Path(directory)
        config = read_static_relation_config(folder)
        if config is None:
            raise ValueError(
                f"{folder} is not a static relation model "
                f"(no {CONFIG_NAME} with model_type {STATIC_RELATION_MODEL_TYPE!r})"
            )
        words = read_json(folder / WORDS_FILE)
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise FileFormatError(f"{folder / WORDS_FILE}: expected a JSON list of words")
        table = read_safetensors(folder / TABLE_FILE).get("vectors")
        if table is None or table.ndim != 2 or table.shape[0] != len(words):
            raise FileFormatError(
                f"{folder / TABLE_FILE}: expected a 'vectors' matrix with one row per word of {WORDS_FILE}"
            )
        sizes = {k: config.get(k) for k in ("dim", "hidden", "rank", "out_dim")}
        sizes["word_hidden"] = config.get("word_hidden", 0)
        try:
            network = PairNetwork(**sizes)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise FileFormatError(f"{folder / CONFIG_NAME}: {exc}") from None
        state = read_safetensors(folder / NETWORK_FILE)
        expected = {k: tuple(v.shape) for k, v in network.state_dict().items()}
        found = {k: tuple(v.shape) for k, v in state.items()}
        if found != expected:
            raise FileFormatError(
                f"{folder / NETWORK_FILE}: tensors {short_repr(found, 160)} do not match {CONFIG_NAME}"
            )
        if not all(bool(torch.isfinite(v).all()) for v in state.values()) or not bool(torch.isfinite(table).all()):
            raise FileFormatError(f"{folder}: the network or the word table holds non-finite values")
        network.load_state_dict(state)
        network.eval().requires_grad_(False)
        weight = config.get("offset_weight")
        return cls(
            words,
            table.float().numpy(),
            network,
            str(config.get("backbone", "")),
            bool(config.get("bidirectional", False)),
            None if weight is None else float(weight),
            name_or_path=str(folder),
            info=config.get("distillation") or {},
        )


def read_static_relation_config(folder: str | Path) -> dict[str, Any] | None:
    """The side file of a static relation folder, or None when the folder is something else."""
    return read_typed_config(folder, STATIC_RELATION_MODEL_TYPE)


def static_relation_card(model: StaticRelationEncoder, directory: Path) -> str:
    """The model card of a static relation folder."""
    info = model.info
    teacher = info.get("teacher", "a relvec model")
    pairs = info.get("pairs")
    pairs = f"{pairs:,}" if isinstance(pairs, int) else "its"
    description = (
        f"A relvec **static relation model**: relation vectors for word pairs at the speed of word vectors. A small "
        f"pair network over the word vectors of `{model.backbone}` ({len(model.words):,} words in its table) was "
        f"distilled from `{teacher}` on {pairs} teacher-embedded pairs, none from a test split. "
        f"Output: {model.embedding_dim} dimensions"
        + (", bidirectional" if model.bidirectional else "")
        + (f", a {model.network.word_hidden}-unit word layer" if model.network.word_hidden else "")
        + (f", with the word-vector offset at weight {model.offset_weight}" if model.offset_weight is not None else "")
        + ". Words outside the table take their vector from the backbone when it is installed."
    )
    usage = "\n".join(
        [
            "```python",
            "from relvec.loading import load_model",
            "",
            f'model = load_model("{directory.name}")',
            'vectors = model.encode([("tokyo", "japan"), ("paris", "france")])',
            "```",
            "",
            f"Command line: `relvec embed --model {directory.name} tokyo:japan paris:france`.",
        ]
    )
    return render_card(directory.name, description, usage, base_model=model.backbone)
