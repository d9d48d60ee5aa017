"""The text of the model cards relvec writes for its saved folders (:mod:`relvec.cards` renders them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relvec.cards import render_card

_POOLING = {
    "average": "averaged over every token",
    "average_no_mask": "averaged over every token except the mask token",
    "mask": "taken at the mask token",
}


def relation_encoder_card(model: Any, directory: Path, training: dict[str, Any] | None) -> str:
    """The card of a :class:`relvec.encoders.prompt.RelationEncoder` folder."""
    config = model.config
    learned = model.prompt_encoder is not None
    prompt = "a learned (continuous) prompt" if learned else f"the template `{config.template}`"
    description = (
        "A relvec relation-embedding model: it embeds a word pair (head, tail) as one "
        f"{model.embedding_dim}-dimensional vector that says *how* the two words relate, so relationally similar "
        "pairs (Paris, France) and (Tokyo, Japan) land close together (RelBERT, Ushio et al., EMNLP 2021). "
        f"The pair is written into {prompt}, encoded by the {'fine-tuned ' if training else ''}backbone "
        f"`{config.backbone}`, and the token states are {_POOLING.get(config.pooling, config.pooling)}."
    )
    usage = [
        "```python",
        "from relvec import RelationEncoder",
        "",
        f'model = RelationEncoder.from_pretrained("{directory.name}")  # the folder, or its hub id',
        'vectors = model.encode([("tokyo", "japan"), ("paris", "france")], normalize=True)',
        "```",
        "",
        f"Command line: `relvec embed --model {directory.name} tokyo:japan paris:france`.",
        "",
        "Plain `transformers.AutoModel.from_pretrained` loads the backbone alone: it gives token states, and the "
        "relation embedding is those states over the filled prompt, pooled as above.",
    ]
    if not learned:
        usage += [
            "`sentence_transformers.SentenceTransformer` loads the folder too (with relvec installed: the pooling "
            f"module is `relvec.st_pooling.RelvecPooling`); its `encode` of the filled prompt is this model's own "
            f"`{config.pooling}` vector."
        ]
    return render_card(directory.name, description, "\n".join(usage), config.backbone, training)


def hybrid_card(model: Any, directory: Path) -> str:
    """The card of a :class:`relvec.encoders.hybrid.HybridEncoder` folder."""
    description = (
        "A relvec **hybrid** relation embedding: a prompt-based relation embedding "
        f"(`{getattr(model.prompt, 'name_or_path', '')}`{', both directions' if model.bidirectional else ''}) "
        f"joined with the word-vector offset of `{model.offset.vectors.name}`, mixed with weight {model.weight:g} "
        f"({model.embedding_dim} dimensions in all). Its parts live in its subfolders."
    )
    usage = "\n".join(
        [
            "```python",
            "from relvec import load_model",
            "",
            f'model = load_model("{directory.name}")',
            'vectors = model.encode([("tokyo", "japan"), ("paris", "france")], normalize=True)',
            "```",
        ]
    )
    base = getattr(getattr(model.prompt, "config", None), "backbone", None)
    return render_card(directory.name, description, usage, base)
