"""relvec's pooling as a sentence-transformers module, so ``SentenceTransformer(folder)`` gives relvec's vector.

A saved relvec folder names :class:`RelvecPooling` in its ``modules.json`` (after ST's ``Transformer``): given a
*filled prompt* (:func:`relvec.prompts.fill` with the folder's template and the tokenizer's mask token),
``SentenceTransformer.encode`` then returns what ``RelationEncoder.encode(pair, precision="fp32")`` returns, for
mask, average and average_no_mask pooling. Not covered: filling the template (the caller does it), learned
P-tuning prompts (their folders carry no sentence-transformers files), bidirectional hybrids and the offset part
of hybrids (those are relvec's own), and a word that itself contains the mask token's text (mask pooling then
reads the first mask token; relvec reads the template's own). Importing this module needs sentence-transformers;
it runs no code from the model folder (the class is relvec's, installed with it).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from sentence_transformers.base.modules.module import Module

from relvec.pooling import pool


class RelvecPooling(Module):
    """Pool ST's token embeddings with relvec's rule (``pooling_mode``: mask, average, average_no_mask)."""

    config_keys: ClassVar[list[str]] = ["embedding_dimension", "pooling_mode", "mask_token_id"]

    def __init__(self, embedding_dimension: int, pooling_mode: str, mask_token_id: int) -> None:
        super().__init__()
        if pooling_mode not in ("mask", "average", "average_no_mask"):
            raise ValueError(f"pooling_mode must be mask, average or average_no_mask, got {pooling_mode!r}")
        self.embedding_dimension = int(embedding_dimension)
        self.pooling_mode = pooling_mode
        self.mask_token_id = int(mask_token_id)

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        ids, attention = features["input_ids"], features["attention_mask"]
        is_mask = ids == self.mask_token_id
        has_mask = is_mask.any(dim=1)
        first = torch.where(has_mask, is_mask.int().argmax(dim=1), torch.full_like(has_mask, -1, dtype=torch.long))
        features["sentence_embedding"] = pool(
            features["token_embeddings"], attention, is_mask, first, self.pooling_mode
        )
        return features

    def get_embedding_dimension(self) -> int:
        return self.embedding_dimension

    get_sentence_embedding_dimension = get_embedding_dimension  # sentence-transformers before 5.7

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)
