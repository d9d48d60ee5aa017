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
from relvec.encoders.layout import Layout, mixing_factors
from relvec.encoders.offset import OffsetEncoder, read_offset_config
from relvec.encoders.prompt import RelationEncoder
from relvec.files import read_safetensors, save_into, write_json
from relvec.precision import check_precision
from relvec.version import __version__

HYBRID_MODEL_TYPE = "hybrid"
_PROMPT_DIR = "prompt"
_STATIC_DIR = "static"  # the offset part's folder (its on-disk name, kept for saved folders)
_PROJECTION_FILE = "projection.safetensors"


class HybridEncoder:
    """A prompt encoder and an offset encoder, concatenated with a weight (see module docstring)."""

    model_type = HYBRID_MODEL_TYPE

    def __init__(
        self,
        prompt: Any,
        offset: Any,
        weight: float = 1.0,
        name_or_path: str = "",
        bidirectional: bool = False,
        projection: torch.Tensor | None = None,
        precision: str = "auto",
    ) -> None:
        """``prompt``: any pair encoder (usually a RelationEncoder); ``offset``: an
        :class:`~relvec.encoders.offset.OffsetEncoder` (or anything with its interface, such as an EmbeddingCache
        around one); ``projection``: a learned (D_out, D) matrix applied to the joined vector (module docstring);
        ``precision``: the default of :meth:`encode` (passed to the prompt part)."""
        mixing_factors(weight)  # validates
        if not isinstance(bidirectional, bool):
            raise ValueError(f"bidirectional must be true or false, got {bidirectional!r}")
        self.projection: torch.Tensor | None = None
        self.prompt = prompt
        self.offset = offset
        self.weight = float(weight)
        self.bidirectional = bidirectional
        self.precision = check_precision(precision)
        self.name_or_path = name_or_path or f"hybrid:{getattr(prompt, 'name_or_path', '')}@{weight:g}"
        if projection is not None:
            self.set_projection(projection)

    @property
    def static(self) -> Any:
        """The offset part under its earlier name."""
        return self.offset

    @property
    def layout(self) -> Layout:
        return Layout(int(self.prompt.embedding_dim), int(self.offset.embedding_dim), self.bidirectional, self.weight)

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
        return self.layout.prompt_width

    @property
    def joined_dim(self) -> int:
        """Dimension of [prompt ; offset], before any projection."""
        return self.layout.dim

    @property
    def embedding_dim(self) -> int:
        return self.joined_dim if self.projection is None else int(self.projection.shape[0])

    @property
    def config(self) -> Any:
        return getattr(self.prompt, "config", None)

    def with_weight(self, weight: float) -> HybridEncoder:
        """The same components with another weight (shares the loaded models; a projection, learned for this
        weight, is not carried over)."""
        return HybridEncoder(
            self.prompt, self.offset, weight, bidirectional=self.bidirectional, precision=self.precision
        )

    def encode(
        self,
        pairs: Any,
        batch_size: int = 64,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        precision: str | None = None,
    ) -> np.ndarray | torch.Tensor:
        """Unit hybrid vectors (float32, input order); ``normalize`` re-normalises pairs with a zero part;
        ``precision`` (default: the model's) is the prompt part's."""
        checked, single = validate_pairs(pairs)
        layout = self.layout
        out = torch.zeros((len(checked), layout.dim), dtype=torch.float32)
        if layout.factors()[0] > 0:
            todo = [*checked, *((b, a) for a, b in checked)] if self.bidirectional else checked
            vectors = self.prompt.encode(
                todo,
                batch_size=batch_size,
                normalize=True,
                show_progress_bar=show_progress_bar,
                precision=precision or self.precision,
            )
            vectors = torch.as_tensor(np.asarray(vectors, dtype=np.float32))
            layout.write(out, "forward", vectors[: len(checked)])
            if self.bidirectional:
                layout.write(out, "reversed", vectors[len(checked) :])
        offsets = np.asarray(self.offset.encode(checked, normalize=True), dtype=np.float32)
        layout.write(out, "offset", torch.from_numpy(offsets))
        result_matrix = out.numpy()
        if self.projection is not None:
            result_matrix = result_matrix @ self.projection.numpy().T
        if normalize or self.projection is not None:  # a projected vector is always re-normalised
            norms = np.linalg.norm(result_matrix, axis=1, keepdims=True)
            result_matrix = result_matrix / np.where(norms == 0, 1.0, norms)
        result = result_matrix[0] if single else result_matrix
        return torch.from_numpy(result) if convert_to_tensor else result

    def describe(self) -> dict[str, Any]:
        """What ``relvec info`` shows (the offset part's vectors and vocabulary among it)."""
        offset = self.offset.describe() if callable(getattr(self.offset, "describe", None)) else {}
        return {
            "model_type": self.model_type,
            "prompt_model": str(getattr(self.prompt, "name_or_path", "")),
            "vectors": offset.get("vectors", "-"),
            "vocabulary": offset.get("vocabulary", "-"),
            "weight": f"{self.weight:g}",
            "bidirectional": self.bidirectional,
            "projection": "-" if self.projection is None else f"{tuple(self.projection.shape)}",
            "embedding_dim": self.embedding_dim,
            "precision": self.precision,
        }

    def coverage(self, pairs: Any) -> dict[str, Any]:
        return self.offset.coverage(pairs)

    def word_vectors(self) -> Any:
        """The word vectors of this model: its offset part's."""
        return self.offset.word_vectors()

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
            "static_vectors": self.offset.vectors.name,
            "relvec_version": __version__,
        }
        if self.projection is not None:
            config["projection"] = _PROJECTION_FILE

        def write(staging: Path) -> None:
            if self.projection is not None:
                save_file({"projection": self.projection}, str(staging / _PROJECTION_FILE))
            if prompt_path is None:
                self.prompt.save_pretrained(staging / _PROMPT_DIR)
            self.offset.save_pretrained(staging / _STATIC_DIR)
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
        if read_offset_config(parts["prompt"]) is not None:  # an offset model as the "prompt" part
            prompt: Any = OffsetEncoder.from_pretrained(parts["prompt"])
        else:
            prompt = RelationEncoder.from_pretrained(parts["prompt"], **prompt_kwargs)
        offset = OffsetEncoder.from_pretrained(parts["static"])
        chosen = float(config.get("weight", 1.0)) if weight is None else weight
        bidirectional = bool(config.get("bidirectional", False))  # absent in older hybrid folders
        projection = None
        if config.get("projection"):
            if weight is not None:
                raise ValueError(f"{directory} has a projection learned for its own weight; it takes no other")
            projection = read_safetensors(directory / str(config["projection"]))["projection"]
        return cls(prompt, offset, chosen, str(directory), bidirectional=bidirectional, projection=projection)


def read_hybrid_config(folder: str | Path) -> dict[str, Any] | None:
    """The side file of a hybrid folder, or None when the folder is something else."""
    return read_typed_config(folder, HYBRID_MODEL_TYPE)
