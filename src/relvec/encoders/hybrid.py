"""Hybrid relation embeddings: a prompt-based embedding joined with a static word-vector offset.

emb(a, b) = [ p̂ / √(1 + w²) ; w·ô / √(1 + w²) ] where p̂ is the unit prompt embedding and ô the
unit offset (b − a). For two pairs whose parts are non-zero, the cosine is
(cos_p + w²·cos_o) / (1 + w²): weight 0 gives the prompt embedding's ranking, weight ∞ the offset's.

With ``bidirectional`` the prompt part is itself [p̂(a, b) ; p̂(b, a)] / √2, so cos_p becomes the mean
of the forward and the reversed cosine: the bidirectional analogy scoring, built into the embedding
(and so into classification and neighbour search as well). The offset needs no such step, since
reversing both pairs only flips the sign of both offsets.

An optional learned ``projection`` P (D_out × D) maps the joined unit vector h to P·h / ‖P·h‖ (see
:mod:`relvec.training.hybrid_projection`); P = I is exactly the plain hybrid.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from relvec.cards import write_card
from relvec.config import CONFIG_NAME, FORMAT_VERSION, read_typed_config
from relvec.encoders.base import validate_pairs
from relvec.encoders.card_text import hybrid_card
from relvec.encoders.prompt import RelationEncoder
from relvec.encoders.static import StaticOffsetEncoder, read_static_config
from relvec.files import read_safetensors, save_into, write_json
from relvec.version import __version__

HYBRID_MODEL_TYPE = "hybrid"
_PROMPT_DIR = "prompt"
_STATIC_DIR = "static"
_PROJECTION_FILE = "projection.safetensors"


def mixing_factors(weight: float) -> tuple[float, float]:
    """(prompt factor, offset factor) for a weight in [0, ∞]; their squares sum to 1."""
    if isinstance(weight, bool) or not isinstance(weight, int | float) or math.isnan(weight) or weight < 0:
        raise ValueError(f"hybrid weight must be a number >= 0 (inf allowed), got {weight!r}")
    if math.isinf(weight):
        return 0.0, 1.0
    scale = math.sqrt(1.0 + weight * weight)
    return 1.0 / scale, weight / scale


class HybridEncoder:
    """A prompt encoder and a static-offset encoder, concatenated with a weight (see module docstring)."""

    model_type = HYBRID_MODEL_TYPE

    def __init__(
        self,
        prompt: Any,
        static: Any,
        weight: float = 1.0,
        name_or_path: str = "",
        bidirectional: bool = False,
        projection: torch.Tensor | None = None,
    ) -> None:
        """``prompt``: any pair encoder (usually a RelationEncoder); ``static``: a StaticOffsetEncoder
        (or anything with its interface, such as an EmbeddingCache around one); ``projection``: a learned
        (D_out, D) matrix applied to the joined vector (module docstring)."""
        mixing_factors(weight)  # validates
        if not isinstance(bidirectional, bool):
            raise ValueError(f"bidirectional must be true or false, got {bidirectional!r}")
        self.projection: torch.Tensor | None = None
        self.prompt = prompt
        self.static = static
        self.weight = float(weight)
        self.bidirectional = bidirectional
        self.name_or_path = name_or_path or f"hybrid:{getattr(prompt, 'name_or_path', '')}@{weight:g}"
        if projection is not None:
            self.set_projection(projection)

    def set_projection(self, projection: torch.Tensor | None) -> None:
        """Install (or with None remove) a learned (D_out, D) projection of the joined vector."""
        if projection is not None:
            matrix = torch.as_tensor(projection, dtype=torch.float32).detach().contiguous()
            if matrix.ndim != 2 or matrix.shape[1] != self.joined_dim or not torch.isfinite(matrix).all():
                raise ValueError(
                    f"projection must be a finite (D_out, {self.joined_dim}) matrix, got {tuple(matrix.shape)}"
                )
            projection = matrix
        self.projection = projection

    @property
    def prompt_dim(self) -> int:
        return int(self.prompt.embedding_dim) * (2 if self.bidirectional else 1)

    @property
    def joined_dim(self) -> int:
        """Dimension of [prompt ; offset], before any projection."""
        return self.prompt_dim + int(self.static.embedding_dim)

    @property
    def embedding_dim(self) -> int:
        return self.joined_dim if self.projection is None else int(self.projection.shape[0])

    @property
    def config(self) -> Any:
        return getattr(self.prompt, "config", None)

    def with_weight(self, weight: float) -> HybridEncoder:
        """The same components with another weight (shares the loaded models; a projection, learned for this
        weight, is not carried over)."""
        return HybridEncoder(self.prompt, self.static, weight, bidirectional=self.bidirectional)

    def encode(
        self,
        pairs: Any,
        batch_size: int = 64,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        precision: str = "auto",
    ) -> np.ndarray | torch.Tensor:
        """Unit hybrid vectors (float32, input order); ``normalize`` re-normalises pairs with a zero part."""
        checked, single = validate_pairs(pairs)
        a, b = mixing_factors(self.weight)
        parts = []
        if a > 0:
            parts.append(a * self._prompt_part(checked, batch_size, show_progress_bar, precision))
        else:
            parts.append(np.zeros((len(checked), self.prompt_dim), dtype=np.float32))
        parts.append(b * np.asarray(self.static.encode(checked, normalize=True), dtype=np.float32))
        out = np.hstack(parts).astype(np.float32)
        if self.projection is not None:
            out = out @ self.projection.numpy().T
        if normalize or self.projection is not None:  # a projected vector is always re-normalised
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms == 0, 1.0, norms)
        result = out[0] if single else out
        return torch.from_numpy(result) if convert_to_tensor else result

    def _prompt_part(
        self, pairs: list[tuple[str, str]], batch_size: int, show_progress_bar: bool | None, precision: str
    ) -> np.ndarray:
        """Unit prompt embeddings; bidirectional: [p̂(a, b) ; p̂(b, a)] / √2 (one encode call for both)."""
        todo = [*pairs, *((b, a) for a, b in pairs)] if self.bidirectional else pairs
        vectors = self.prompt.encode(
            todo, batch_size=batch_size, normalize=True, show_progress_bar=show_progress_bar, precision=precision
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        if not self.bidirectional:
            return vectors
        return np.hstack([vectors[: len(pairs)], vectors[len(pairs) :]]) / np.float32(math.sqrt(2.0))

    def coverage(self, pairs: Any) -> dict[str, Any]:
        return self.static.coverage(pairs)

    def word_vectors(self) -> Any:
        """The word vectors of this model: its offset part's."""
        return self.static.word_vectors()

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | Path, prompt_path: str | None = None) -> Path:
        """``prompt/`` (a relvec folder), ``static/`` (the word vectors) and a versioned side file.

        ``prompt_path`` (relative to ``directory``, e.g. ``".."``) records an already saved prompt
        model instead of writing a copy.
        """
        directory = Path(directory)
        if prompt_path is not None and not (directory / prompt_path).is_dir():
            raise ValueError(f"prompt_path {prompt_path!r} is not a folder relative to {directory}")
        config = {
            "format_version": FORMAT_VERSION,
            "model_type": HYBRID_MODEL_TYPE,
            "weight": "inf" if math.isinf(self.weight) else self.weight,
            "bidirectional": self.bidirectional,
            "prompt": prompt_path or _PROMPT_DIR,
            "static": _STATIC_DIR,
            "prompt_model": str(getattr(self.prompt, "name_or_path", "")),
            "static_vectors": self.static.vectors.name,
            "relvec_version": __version__,
        }
        if self.projection is not None:
            config["projection"] = _PROJECTION_FILE

        def write(staging: Path) -> None:
            if self.projection is not None:
                save_file({"projection": self.projection}, str(staging / _PROJECTION_FILE))
            if prompt_path is None:
                self.prompt.save_pretrained(staging / _PROMPT_DIR)
            self.static.save_pretrained(staging / _STATIC_DIR)
            write_json(staging / CONFIG_NAME, config)
            write_card(staging, directory, hybrid_card(self, directory))

        return save_into(directory, write, last=(CONFIG_NAME,))

    @classmethod
    def from_pretrained(cls, directory: str | Path, weight: float | None = None, **prompt_kwargs: Any) -> HybridEncoder:
        directory = Path(directory)
        config = read_hybrid_config(directory)
        if config is None:
            raise ValueError(f"{directory} is not a hybrid model folder (no {CONFIG_NAME} with model_type 'hybrid')")
        parts = {}
        for key, default in (("prompt", _PROMPT_DIR), ("static", _STATIC_DIR)):
            part = directory / str(config.get(key, default))
            if not part.is_dir():  # a side file names folders, never a hub id to download
                raise ValueError(f"{directory / CONFIG_NAME}: its {key} part {part} is not a folder")
            parts[key] = part
        if read_static_config(parts["prompt"]) is not None:  # an offset model as the "prompt" part
            prompt: Any = StaticOffsetEncoder.from_pretrained(parts["prompt"])
        else:
            prompt = RelationEncoder.from_pretrained(parts["prompt"], **prompt_kwargs)
        static = StaticOffsetEncoder.from_pretrained(parts["static"])
        chosen = float(config.get("weight", 1.0)) if weight is None else weight
        bidirectional = bool(config.get("bidirectional", False))  # absent in older hybrid folders
        projection = None
        if config.get("projection"):
            if weight is not None:
                raise ValueError(f"{directory} has a projection learned for its own weight; it takes no other")
            projection = read_safetensors(directory / str(config["projection"]))["projection"]
        return cls(prompt, static, chosen, str(directory), bidirectional=bidirectional, projection=projection)


def read_hybrid_config(folder: str | Path) -> dict[str, Any] | None:
    """The side file of a hybrid folder, or None when the folder is something else."""
    return read_typed_config(folder, HYBRID_MODEL_TYPE)
