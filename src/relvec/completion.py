"""Analogy completion over a vocabulary: A : B :: C : ?  — which word d makes (C, d) relate like (A, B)?

Two steps, as a retrieve-then-rerank search:

1. **Candidates** from word-vector arithmetic over the vocabulary (unit vectors â, b̂, ĉ, d̂):
   3CosAdd ranks d by cos(d, b) − cos(d, a) + cos(d, c) = d̂ · (b̂ − â + ĉ); 3CosMul (Levy & Goldberg 2014) by
   cos'(d, b) · cos'(d, c) / (cos'(d, a) + ε) with cos' = (cos + 1) / 2. A, B and C themselves are excluded,
   as word-vector toolkits do. The vocabulary's vectors are computed once per (word vectors, vocabulary) and
   can be cached on disk (``cache_dir``: a plain ``.npy`` matrix and a JSON side file, never a pickle).
2. **Re-ranking** of the top ``candidates`` by the relation model: the cosine between emb(A, B) and emb(C, d)
   (for a hybrid, its own embedding, so its own score). All candidate pairs of a batch of queries go to
   ``model.encode`` in one call.

With a static relation model (``relvec distill``) the search can be **exhaustive** (``exhaustive=True``): every
vocabulary word d is scored by cos(emb(A, B), emb(C, d)) (plus ``blend`` × its arithmetic score), through the
model's ``score_rows`` without building the vectors.

The default vocabulary is the most frequent lower-case alphabetic words of GloVe 6B (its file is in frequency
order); a user file (one word per line) works too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relvec.encoders.base import Pair
from relvec.encoders.offset import WordVectors
from relvec.encoders.pair_scoring import require_row_scorer, rescored_top, top_indices
from relvec.encoders.word_vectors import EncoderWordVectors
from relvec.files import FileFormatError, iter_lines, read_json, short_repr, write_file, write_json
from relvec.options import COMPLETION_METHODS
from relvec.precision import compute_dtype

METHODS = COMPLETION_METHODS
DEFAULT_VOCAB_SIZE = 100_000
DEFAULT_CANDIDATES = 50
_MUL_EPS = 1e-3
_SHORTLIST = 512  # words rescored exactly after a fast (bf16) exhaustive pass


@dataclass(frozen=True)
class Completion:
    """One answer: the word, the relation model's score (cosine of emb(A, B) and emb(C, word)) and the
    word-vector arithmetic score that made it a candidate."""

    word: str
    score: float
    offset_score: float


# ---------------------------------------------------------------------------- vocabularies
def default_vocabulary(size: int = DEFAULT_VOCAB_SIZE) -> list[str]:
    """The ``size`` most frequent lower-case alphabetic GloVe 6B words of two letters or more."""
    if size < 1:
        raise ValueError(f"vocabulary size must be positive, got {size}")
    words: list[str] = []
    for word in WordVectors.glove().words:
        if len(word) > 1 and word.isalpha() and word.islower():
            words.append(word)
            if len(words) == size:
                break
    return words


def read_vocabulary(path: str | Path) -> list[str]:
    """One word (or phrase) per line; blank lines skipped, repeats dropped; a tab is an error (file:line)."""
    words: dict[str, None] = {}
    for number, line in iter_lines(path):
        word = line.strip()
        if "\t" in word:
            raise FileFormatError(f"{path}:{number}: one word per line, got {short_repr(line)}")
        if word:
            words.setdefault(word, None)
    if not words:
        raise FileFormatError(f"{path}: the vocabulary is empty")
    return list(words)


# ---------------------------------------------------------------------------- word vectors
def word_vectors_of(model: Any) -> WordVectors | EncoderWordVectors:
    """The word vectors that go with ``model``: a hybrid's or an offset model's own, a relation encoder's
    backbone (its sentence-encoder word vectors), else GloVe 6B 50d."""
    own = getattr(model, "word_vectors", None)
    return own() if callable(own) else WordVectors.glove()


class VocabularyVectors:
    """Unit vectors of a vocabulary's words (the words the word vectors know; the rest are dropped)."""

    def __init__(self, words: Sequence[str], matrix: np.ndarray) -> None:
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = matrix.astype(np.float32, copy=False)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(
        cls,
        vectors: WordVectors | EncoderWordVectors,
        vocabulary: Sequence[str],
        cache_dir: str | Path | None = None,
        show_progress_bar: bool | None = None,
    ) -> VocabularyVectors:
        """Look every word up once (or read the result from ``cache_dir``, keyed by vectors and vocabulary)."""
        words = list(dict.fromkeys(vocabulary))
        key = hashlib.sha256(json.dumps([str(getattr(vectors, "name", "")), words]).encode()).hexdigest()[:24]
        cached = _read_cache(Path(cache_dir), key, int(vectors.dim)) if cache_dir else None
        if cached is not None:
            return cached
        vectors.prefetch(words, show_progress_bar=show_progress_bar)
        kept, rows = [], []
        for word in words:
            v = vectors.lookup(word)
            if v is not None and np.linalg.norm(v) > 0:
                kept.append(word)
                rows.append(np.asarray(v, dtype=np.float64) / np.linalg.norm(v))
        dim = int(vectors.dim)
        result = cls(kept, np.asarray(rows, dtype=np.float32).reshape(len(kept), dim))
        if cache_dir:
            _write_cache(Path(cache_dir), key, result)
        return result

    def unit(self, vectors: WordVectors | EncoderWordVectors, word: str) -> np.ndarray | None:
        """A query word's unit vector: from the vocabulary if it is there, else looked up."""
        if word in self.index:
            return self.matrix[self.index[word]]
        v = vectors.lookup(word)
        if v is None or np.linalg.norm(v) == 0:
            return None
        return (np.asarray(v, dtype=np.float64) / np.linalg.norm(v)).astype(np.float32)


def _digest(matrix: np.ndarray, words: Sequence[str]) -> str:
    """One hash of the rows and the words in order: a reordered, edited or swapped entry does not match."""
    digest = hashlib.sha256(json.dumps(list(words), ensure_ascii=False).encode())
    digest.update(np.ascontiguousarray(matrix, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _read_cache(folder: Path, key: str, dim: int) -> VocabularyVectors | None:
    """A cache entry that checks out (shape, finite values, hash of words and rows), else None (rebuilt)."""
    meta, matrix_path = folder / f"{key}.json", folder / f"{key}.npy"
    if not (meta.is_file() and matrix_path.is_file()):
        return None
    try:
        info = read_json(meta)
        words, matrix = info["words"], np.load(matrix_path, allow_pickle=False)
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            return None
        if matrix.dtype != np.float32 or matrix.shape != (len(words), dim) or not np.isfinite(matrix).all():
            return None
        if info.get("sha256") != _digest(matrix, words):
            return None
        return VocabularyVectors(words, matrix)
    except (ValueError, KeyError, TypeError, OSError):
        return None  # a damaged cache entry is rebuilt, never trusted


def _write_cache(folder: Path, key: str, vectors: VocabularyVectors) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_file(folder / f"{key}.npy", lambda p: np.save(p, vectors.matrix, allow_pickle=False))
    info = {"words": vectors.words, "sha256": _digest(vectors.matrix, vectors.words)}
    write_json(folder / f"{key}.json", info)  # written last: it marks the entry complete


# ---------------------------------------------------------------------------- word-vector arithmetic
def offset_scores(
    space: VocabularyVectors, a: np.ndarray, b: np.ndarray, c: np.ndarray, method: str = "add"
) -> np.ndarray:
    """Every vocabulary word's 3CosAdd or 3CosMul score for A : B :: C : d (unit query vectors)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "add":
        return space.matrix @ (b - a + c)
    cos = (space.matrix @ np.stack([a, b, c], axis=1) + 1.0) / 2.0  # (n, 3), cosines shifted to [0, 1]
    return cos[:, 1] * cos[:, 2] / (cos[:, 0] + _MUL_EPS)


def top_words(scores: np.ndarray, words: Sequence[str], exclude: Iterable[str], n: int) -> list[tuple[str, float]]:
    """The ``n`` best-scoring words, skipping ``exclude`` (compared case-insensitively); exact ties in vocabulary
    order, so the answer is the same on every CPU."""
    banned = {w.lower() for w in exclude}
    best = top_indices(scores, n + len(banned))
    return [(words[i], float(scores[i])) for i in best if words[i].lower() not in banned][:n]


# ---------------------------------------------------------------------------- the completer
class AnalogyCompleter:
    """Answer A : B :: C : ? over a vocabulary with a relation model (see the module docstring).

    ``word_vectors`` default to the model's own (:func:`word_vectors_of`); ``method`` picks the candidate
    arithmetic; ``candidates`` how many of its best words the relation model re-ranks (0: no re-ranking,
    the plain 3CosAdd/3CosMul answer); ``blend`` adds that times a word's arithmetic score to the relation
    model's (re-ranking and exhaustive alike).
    """

    def __init__(
        self,
        model: Any,
        vocabulary: Sequence[str] | None = None,
        word_vectors: WordVectors | EncoderWordVectors | None = None,
        method: str = "add",
        candidates: int = DEFAULT_CANDIDATES,
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
        show_progress_bar: bool | None = None,
        exhaustive: bool = False,
        blend: float = 0.0,
        precision: str | None = None,
    ) -> None:
        if exhaustive:
            require_row_scorer(model, "exhaustive completion")
        if not np.isfinite(blend) or blend < 0:
            raise ValueError(f"blend must be a finite number >= 0, got {blend}")
        self.exhaustive, self.blend = exhaustive, float(blend)
        # the model's precision unless given: exhaustive scoring in bf16 where it resolves to bf16, then the
        # shortlist exactly (the same top k); re-ranking passes it to encode
        self.precision = precision or getattr(model, "precision", "auto")
        self.dtype = compute_dtype(self.precision)
        self._rows: Any = None  # the vocabulary's table rows, for exhaustive scoring (looked up once)
        self._lower: dict[str, list[int]] | None = None  # lower-cased word -> vocabulary rows
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if candidates < 0:
            raise ValueError(f"candidates must be >= 0, got {candidates}")
        self.model, self.method, self.candidates, self.batch_size = model, method, candidates, batch_size
        self.show_progress_bar = show_progress_bar
        self.vectors = word_vectors if word_vectors is not None else word_vectors_of(model)
        words = default_vocabulary() if vocabulary is None else list(vocabulary)
        if not words:
            raise ValueError("the vocabulary is empty")
        self.space = VocabularyVectors.build(self.vectors, words, cache_dir, show_progress_bar)
        if not self.space.words:
            raise ValueError(f"none of the {len(words)} vocabulary words has a vector in {self.vectors.name}")

    def complete(self, pair: Pair, c: str, k: int = 10) -> list[Completion]:
        """The ``k`` best completions d of ``pair[0] : pair[1] :: c : d``, best first."""
        return self.complete_many([(pair, c)], k)[0]

    def complete_many(self, queries: Sequence[tuple[Pair, str]], k: int = 10) -> list[list[Completion]]:
        """Several queries at once: one ``encode`` call embeds every query's candidate pairs."""
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        if self.exhaustive:
            return [self._exhaustive(i, pair, c, k) for i, (pair, c) in enumerate(queries)]
        pools = [self._candidates(i, pair, c, max(k, self.candidates)) for i, (pair, c) in enumerate(queries)]
        if self.candidates == 0 or self.model is None:
            return [[Completion(w, s, s) for w, s in pool[:k]] for pool in pools]
        asked = [(a, b) for (a, b), _ in queries]
        candidates = [(c, w) for ((_, c), pool) in zip(queries, pools, strict=True) for w, _ in pool]
        vectors = np.asarray(
            self.model.encode(
                [*asked, *candidates],
                batch_size=self.batch_size,
                normalize=True,
                show_progress_bar=self.show_progress_bar,
                precision=self.precision,
            ),
            dtype=np.float32,
        )
        anchors, rest = vectors[: len(asked)], vectors[len(asked) :]
        out, start = [], 0
        for anchor, pool in zip(anchors, pools, strict=True):
            relation = rest[start : start + len(pool)] @ anchor
            start += len(pool)
            scores = self._blend(relation, np.asarray([s for _, s in pool], dtype=np.float32))
            order = top_indices(scores, k)
            out.append([Completion(pool[i][0], float(scores[i]), pool[i][1]) for i in order])
        return out

    @property
    def fast(self) -> bool:
        """Whether exhaustive scoring takes a bf16 pass before scoring its shortlist exactly."""
        return self.dtype != torch.float32

    def _exhaustive(self, index: int, pair: Pair, c: str, k: int) -> list[Completion]:
        """Every vocabulary word scored by the relation model (and ``blend`` × the arithmetic score)."""
        if self._rows is None:
            self._rows = self.model.rows_of(self.space.words)
        arithmetic = self._arithmetic(index, pair, c)
        query = np.asarray(self.model.encode(pair, normalize=True, precision="fp32"), dtype=np.float32)
        heads = self.model.rows_of([c]).expand(len(self._rows))
        fast = self.fast and len(self._rows) > _SHORTLIST
        banned = self._excluded((*pair, c))
        dtype = self.dtype if fast else torch.float32
        scores = self._blend(self.model.score_rows(heads, self._rows, query, dtype), arithmetic)
        scores[banned] = -np.inf
        if fast:  # bf16 scores pick a shortlist; its words are scored exactly, so the top k is fp32's

            def exact(chosen: np.ndarray) -> np.ndarray:
                rows = self._rows[torch.as_tensor(chosen)]
                return self._blend(self.model.score_rows(heads[: len(rows)], rows, query), arithmetic[chosen])

            best, values = rescored_top(scores, k, _SHORTLIST, exact)
        else:
            best = top_indices(scores, k)
            best = best[np.isfinite(scores[best])]
            values = scores[best]
        words = self.space.words
        return [Completion(words[i], float(v), float(arithmetic[i])) for i, v in zip(best, values, strict=True)]

    def _excluded(self, words: Iterable[str]) -> np.ndarray:
        """Vocabulary rows of ``words`` and of every vocabulary word equal to one of them ignoring case."""
        if self._lower is None:
            self._lower = {}
            for i, w in enumerate(self.space.words):
                self._lower.setdefault(w.lower(), []).append(i)
        return np.asarray([i for w in {w.lower() for w in words} for i in self._lower.get(w, [])], dtype=np.int64)

    def _blend(self, relation: np.ndarray, arithmetic: np.ndarray) -> np.ndarray:
        """The relation score plus ``blend`` × the arithmetic score of the same words."""
        return relation + self.blend * arithmetic if self.blend else relation

    def _arithmetic(self, index: int, pair: Pair, c: str) -> np.ndarray:
        a, b = pair
        units = [self.space.unit(self.vectors, w) for w in (a, b, c)]
        missing = [w for w, u in zip((a, b, c), units, strict=True) if u is None]
        if missing:
            raise ValueError(f"query {index} ({a}:{b} :: {c}): no word vector for {short_repr(missing)}")
        return offset_scores(self.space, *units, method=self.method)  # type: ignore[arg-type]

    def _candidates(self, index: int, pair: Pair, c: str, n: int) -> list[tuple[str, float]]:
        scores = self._arithmetic(index, pair, c)
        return top_words(scores, self.space.words, (*pair, c), n)


def complete(
    model: Any,
    pair: Pair,
    c: str,
    k: int = 10,
    vocabulary: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[Completion]:
    """One-off A : B :: C : ? (see :class:`AnalogyCompleter`; keep a completer to ask many questions)."""
    return AnalogyCompleter(model, vocabulary=vocabulary, **kwargs).complete(pair, c, k)
