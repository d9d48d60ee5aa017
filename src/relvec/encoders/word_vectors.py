"""Word vectors read off a sentence encoder, for offset (b − a) relation embeddings.

A sentence encoder such as all-mpnet-base-v2 embeds a single word (or a phrase) as well as a
sentence: its vector is the mean of the token states over the whole input, special tokens
included (the sentence-transformers pooling of the all-*-v2 models), normalised to unit length.
These vectors have the :class:`relvec.encoders.offset.WordVectors` interface, so
:class:`relvec.encoders.offset.OffsetEncoder` turns them into offsets. Unlike a fixed vocabulary
they know every term, multi-word ones included.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from relvec.backbones import canonical_name, load_backbone, local_path
from relvec.pooling import masked_mean
from relvec.precision import autocast, resolve_precision

ENCODER_PREFIX = "encoder:"


def is_encoder_spec(name: str) -> bool:
    """True for ``encoder:BACKBONE`` (word vectors from a sentence encoder)."""
    return str(name).startswith(ENCODER_PREFIX) and len(str(name)) > len(ENCODER_PREFIX)


class EncoderWordVectors:
    """Unit word vectors from a sentence encoder, computed on demand and cached per term."""

    lowercase = False  # the encoder sees the term as written

    def __init__(
        self,
        backbone: str,
        batch_size: int = 64,
        max_length: int = 32,
        precision: str = "auto",
        local_files_only: bool = False,
        referrer: str = "",
    ) -> None:
        """``local_files_only``: never download (set when a saved folder, ``referrer``, names the backbone)."""
        if batch_size < 1 or max_length < 3:
            raise ValueError(f"batch_size must be >= 1 and max_length >= 3, got {batch_size} and {max_length}")
        source = local_path(backbone)
        self.backbone = canonical_name(backbone)
        self.name = ENCODER_PREFIX + self.backbone
        local_only = local_files_only or Path(source).is_dir()
        try:
            self.model, self.tokenizer = load_backbone(source, local_only)
            self.model.eval()
        except OSError as exc:
            if not local_files_only:
                raise
            raise ValueError(
                f"{referrer or 'the model'} takes its word vectors from backbone {self.backbone!r}, which is not "
                "available locally; relvec never downloads what a saved folder names. Download it first "
                f"(or name it yourself, e.g. offset:{self.name})"
            ) from exc
        self.batch_size = batch_size
        self.max_length = max_length
        self.precision = resolve_precision(precision, self.model.device)
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> EncoderWordVectors:
        """``encoder:mpnet`` / ``encoder:FOLDER`` / ``encoder:HUB_ID``."""
        if not is_encoder_spec(spec):
            raise ValueError(f"expected 'encoder:BACKBONE', got {spec!r}")
        return cls(str(spec)[len(ENCODER_PREFIX) :], **kwargs)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def lookup(self, term: str) -> np.ndarray | None:
        """The term's unit vector (float64), or None for an empty term."""
        key = term.strip()
        if not key:
            return None
        if key not in self._cache:
            self.prefetch([key])
        return self._cache[key]

    def prefetch(self, terms: Iterable[str], show_progress_bar: bool | None = None) -> None:
        """Embed every term not cached yet, in length-sorted batches padded to their own longest
        (progress shown from 16 batches on unless ``show_progress_bar`` says otherwise)."""
        # membership per term: `set - dict.keys()` would walk the whole cache on every call (100,000 lookups of a
        # completion vocabulary took minutes that way)
        todo = sorted({k for t in terms if (k := t.strip()) and k not in self._cache}, key=lambda t: (len(t), t))
        starts = range(0, len(todo), self.batch_size)
        show = len(starts) >= 16 if show_progress_bar is None else show_progress_bar
        for start in tqdm(starts, desc="word vectors", disable=not show):
            chunk = todo[start : start + self.batch_size]
            for term, vector in zip(chunk, self._embed(chunk), strict=True):
                self._cache[term] = vector

    @torch.inference_mode()
    def _embed(self, terms: list[str]) -> np.ndarray:
        batch = self.tokenizer(
            terms, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.model.device)
        with autocast(self.precision, self.model.device):
            hidden = self.model(**batch).last_hidden_state.float()
        mean = masked_mean(hidden, batch["attention_mask"].bool())
        return torch.nn.functional.normalize(mean, dim=-1).double().cpu().numpy()

    def save(self, folder: Any) -> None:
        """Nothing to write: the side file names the backbone, which is reloaded from it."""
