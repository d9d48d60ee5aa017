"""Around the relation encoder's loading: saved settings and load-time checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from relvec.backbones import require_local_path
from relvec.config import CONFIG_NAME, RelvecConfig
from relvec.files import short_repr


def special_layout(tokenizer: PreTrainedTokenizerBase) -> tuple[int, int]:
    """(special tokens before the body, special tokens in total) of a single-sequence input."""
    sentinel = -7
    wrapped = tokenizer.build_inputs_with_special_tokens([sentinel])
    return wrapped.index(sentinel), len(wrapped) - 1


def load_saved_config(source: str, local_files_only: bool = False) -> RelvecConfig | None:
    require_local_path(source)
    path = Path(source)
    if path.is_dir():
        return RelvecConfig.load(path) if (path / CONFIG_NAME).exists() else None
    if path.exists():
        raise ValueError(f"{source} is a file; expected a model folder or a hub id")
    return _hub_config(source, local_files_only)


def _hub_config(repo_id: str, local_files_only: bool = False) -> RelvecConfig | None:
    """Fetch ``relvec_config.json`` of a hub repo through the normal hub path (honours HF_HUB_OFFLINE)."""
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(repo_id, CONFIG_NAME, local_files_only=local_files_only)
    except Exception:  # missing file, offline, unknown repo: treat as a plain backbone
        return None
    return RelvecConfig.load(path)


def config_from_relbert(backbone: PreTrainedModel) -> RelvecConfig | None:
    """Settings of a checkpoint released by the reference ``relbert`` library, if it is one."""
    info = getattr(backbone.config, "relbert_config", None)
    if not isinstance(info, dict) or "template" not in info:
        return None
    return RelvecConfig(
        template=info["template"],
        pooling=info.get("aggregation_mode", "average_no_mask"),
        max_length=int(info.get("max_length", 64)),
        backbone=str(backbone.config.name_or_path),
    )


# Files of which a local folder needs at least one for AutoTokenizer to build a tokenizer.
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")
# Architectures whose position ids start after the padding index (position table = max length + pad + 1).
_PADDED_POSITIONS = {"roberta", "xlm-roberta", "xlm-roberta-xl", "mpnet", "camembert", "longformer", "data2vec-text"}


def check_tokenizer_files(source: str) -> None:
    folder = Path(source)
    if folder.is_dir() and not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise ValueError(f"{folder} has no tokenizer files (one of {', '.join(_TOKENIZER_FILES)}); cannot load it")


def position_limit(backbone: PreTrainedModel) -> int | None:
    """The longest input the backbone's position table allows, or None when it has no such limit."""
    size = getattr(backbone.config, "max_position_embeddings", None)
    if not isinstance(size, int) or size <= 0:
        return None
    if getattr(backbone.config, "model_type", "") in _PADDED_POSITIONS:
        size -= int(getattr(backbone.config, "pad_token_id", 1) or 0) + 1
    return size


def check_max_length(max_length: int, backbone: PreTrainedModel) -> None:
    limit = position_limit(backbone)
    if limit is not None and max_length > limit:
        raise ValueError(f"max_length={max_length} exceeds the backbone's {limit} positions; use at most {limit}")


def check_trigger_ids(prompt: dict[str, Any], backbone: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """AutoPrompt trigger ids must index the backbone's vocabulary."""
    if prompt.get("method") != "autoprompt":
        return
    size = min(int(backbone.get_input_embeddings().num_embeddings), len(tokenizer))
    bad = [i for i in prompt.get("trigger_ids", []) if not 0 <= i < size]
    if bad:
        raise ValueError(f"autoprompt trigger_ids {short_repr(bad)} are outside the vocabulary of {size} tokens")
