"""An encoder wrapper that embeds each distinct pair once, however many evaluators ask for it."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from relvec.encoders.base import Pair, validate_pairs


class EmbeddingCache:
    """Wrap ``model`` so repeated pairs are looked up instead of re-encoded.

    The cache stores raw (unnormalised) vectors; ``normalize`` is applied on the way out.
    ``pairs_encoded`` counts the pairs actually sent to the model, ``pairs_requested`` all lookups.
    """

    def __init__(self, model: Any, batch_size: int = 64, show_progress_bar: bool | None = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self._rows: dict[Pair, int] = {}
        self._blocks: list[np.ndarray] = []
        self._matrix: np.ndarray | None = None
        self.pairs_encoded = 0
        self.pairs_requested = 0

    def __getattr__(self, name: str) -> Any:  # name_or_path, embedding_dim, coverage, config, ...
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def __len__(self) -> int:
        return len(self._rows)

    def encode(
        self,
        pairs: Any,
        batch_size: int | None = None,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        **kwargs: Any,
    ) -> np.ndarray | torch.Tensor:
        checked, single = validate_pairs(pairs)
        self.pairs_requested += len(checked)
        missing = [p for p in dict.fromkeys(checked) if p not in self._rows]
        if missing:
            vectors = self.model.encode(
                missing,
                batch_size=batch_size or self.batch_size,
                normalize=False,
                show_progress_bar=self.show_progress_bar if show_progress_bar is None else show_progress_bar,
                **kwargs,
            )
            block = np.asarray(vectors, dtype=np.float32).reshape(len(missing), -1)
            start = len(self._rows)
            self._rows.update((p, start + i) for i, p in enumerate(missing))
            self._blocks.append(block)
            self._matrix = None
            self.pairs_encoded += len(missing)
        out = self._all()[[self._rows[p] for p in checked]]
        if normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms == 0, 1.0, norms)
        result = out[0] if single else out
        return torch.from_numpy(result) if convert_to_tensor else result

    def _all(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = np.concatenate(self._blocks) if self._blocks else np.zeros((0, 0), dtype=np.float32)
            self._blocks = [self._matrix]
        return self._matrix
