"""A static relation model's folder: words.json, the word table (float16 safetensors), the pair network (float32
safetensors), the versioned side file and a model card. Nothing here unpickles or runs code; a damaged folder is
refused with an error naming the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from relvec.cards import render_card, write_card
from relvec.config import CONFIG_NAME, FORMAT_VERSION, read_typed_config
from relvec.encoders.pair_network import PairNetwork
from relvec.files import FileFormatError, read_json, read_safetensors, save_into, short_repr, write_json
from relvec.version import __version__

STATIC_RELATION_MODEL_TYPE = "static_relation"
TABLE_FILE = "word_table.safetensors"
WORDS_FILE = "words.json"
NETWORK_FILE = "pair_network.safetensors"


@dataclass
class SavedStaticRelation:
    """What a folder holds, ready to build the model from."""

    words: list[str]
    table: np.ndarray
    network: PairNetwork
    backbone: str
    bidirectional: bool
    offset_weight: float | None
    info: dict[str, Any]


def static_relation_config(model: Any) -> dict[str, Any]:
    """The side file of ``model`` (a :class:`~relvec.encoders.static_relation.StaticRelationEncoder`)."""
    net = model.network
    return {
        "format_version": FORMAT_VERSION,
        "model_type": STATIC_RELATION_MODEL_TYPE,
        "relvec_version": __version__,
        "backbone": model.backbone,
        "bidirectional": model.bidirectional,
        "offset_weight": model.offset_weight,
        "dim": net.dim,
        "hidden": net.hidden,
        "rank": net.rank,
        "out_dim": net.out_dim,
        "word_hidden": net.word_hidden,
        "embedding_dim": model.embedding_dim,
        "words": len(model.words),
        "table_dtype": "float16",
        "distillation": model.info,
    }


def save_static_relation(model: Any, directory: str | Path) -> Path:
    """Write ``model``'s folder atomically, the side file last."""
    directory = Path(directory)
    network = {k: v.detach().float().contiguous() for k, v in model.network.state_dict().items()}

    def write(staging: Path) -> None:
        write_json(staging / WORDS_FILE, model.words)
        save_file({"vectors": model.table.half().contiguous()}, str(staging / TABLE_FILE))
        save_file(network, str(staging / NETWORK_FILE))
        write_card(staging, directory, static_relation_card(model, directory))
        write_json(staging / CONFIG_NAME, static_relation_config(model))

    return save_into(directory, write, last=(CONFIG_NAME,))


def read_static_relation(directory: str | Path) -> SavedStaticRelation:
    """Read and check a saved folder (every file validated before anything is built)."""
    folder = Path(directory)
    config = read_static_relation_config(folder)
    if config is None:
        raise ValueError(
            f"{folder} is not a static relation model (no {CONFIG_NAME} with model_type {STATIC_RELATION_MODEL_TYPE!r})"
        )
    words = read_json(folder / WORDS_FILE)
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise FileFormatError(f"{folder / WORDS_FILE}: expected a JSON list of words")
    table = read_safetensors(folder / TABLE_FILE).get("vectors")
    if table is None or table.ndim != 2 or table.shape[0] != len(words):
        raise FileFormatError(
            f"{folder / TABLE_FILE}: expected a 'vectors' matrix with one row per word of {WORDS_FILE}"
        )
    network = _read_network(folder, config)
    if not bool(torch.isfinite(table).all()):
        raise FileFormatError(f"{folder / TABLE_FILE}: the word table holds non-finite values")
    weight = config.get("offset_weight")
    return SavedStaticRelation(
        words,
        table.float().numpy(),
        network,
        str(config.get("backbone", "")),
        bool(config.get("bidirectional", False)),
        None if weight is None else float(weight),
        config.get("distillation") or {},
    )


def _read_network(folder: Path, config: dict[str, Any]) -> PairNetwork:
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
        raise FileFormatError(f"{folder / NETWORK_FILE}: tensors {short_repr(found, 160)} do not match {CONFIG_NAME}")
    if not all(bool(torch.isfinite(v).all()) for v in state.values()):
        raise FileFormatError(f"{folder / NETWORK_FILE}: the network holds non-finite values")
    network.load_state_dict(state)
    network.eval().requires_grad_(False)
    return network


def read_static_relation_config(folder: str | Path) -> dict[str, Any] | None:
    """The side file of a static relation folder, or None when the folder is something else."""
    return read_typed_config(folder, STATIC_RELATION_MODEL_TYPE)


def static_relation_card(model: Any, directory: Path) -> str:
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
    training = distillation_text(info)
    if training:
        description += "\n\n" + training
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


def distillation_text(info: dict[str, Any]) -> str:
    """How a student was trained, from its ``info`` (sources, objectives, schedule, the epoch chosen on valid)."""
    args, history = info.get("arguments") or {}, info.get("history") or []
    if not args:
        return ""
    sources = info.get("sources") or {}
    objective = ["1 − cos to the teacher's prompt vector"]
    if args.get("task_weight"):
        objective.append(f"{args['task_weight']:g} × RelBERT's NCE over SemEval-2012 train relations")
    if args.get("rank_weight"):
        relation = "another pair's of its relation class" if args.get("rank_query") == "partner" else "its own"
        objective.append(
            f"{args['rank_weight']:g} × the completion loss (a pair's tail, given {relation} teacher vector, ranked "
            f"above {args.get('rank_negatives', 0)} random vocabulary words and the batch's tails)"
        )
    regular = [f"weight decay {args['weight_decay']:g}"] if args.get("weight_decay") else []
    regular += [f"dropout {args['dropout']:g}"] if args.get("dropout") else []
    best = max(history, key=lambda h: h.get("valid", 0.0)) if history else None
    chosen = f" (epoch {best['epoch']}: analogy valid {100 * best['valid']:.1f})" if best else ""
    return (
        "**Training.** Pairs by source before the cut: "
        + ", ".join(f"{name} {count:,}" for name, count in sources.items())
        + f". Objective: {' + '.join(objective)}. AdamW, learning rate {args.get('learning_rate', 0):g}, cosine "
        + f"decay, batch {args.get('batch_size')}"
        + (", " + ", ".join(regular) if regular else "")
        + f"; {args.get('epochs')} epochs, the best on analogy valid kept{chosen}; pair network: hidden "
        + f"{args.get('hidden')}, rank {args.get('rank')}, word layer {args.get('word_hidden')}."
    )
