"""Sharing saved folders on the Hugging Face hub (``relvec push``), through ``huggingface_hub``.

Only an explicit push touches the network; nothing else in relvec uploads or downloads on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from relvec.cards import CARD_FILE
from relvec.classifier import CLASSIFIER_CONFIG
from relvec.config import CONFIG_NAME

# What never leaves the machine: relvec's staging/trash entries and training checkpoints.
IGNORE_PATTERNS = [".tmp-*", ".old-*", ".trash-*", "**/.tmp-*", "checkpoint/*", "checkpoint*/**", "*.lock"]


def push_to_hub(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload relvec model",
    api: Any = None,
) -> str:
    """Create ``repo_id`` (if needed) and upload ``folder``; returns the commit URL.

    ``api``: an object with ``create_repo`` and ``upload_folder`` (default ``huggingface_hub.HfApi``).
    Refuses, before any network call, a folder relvec did not save, a malformed repo id, an offline
    session (``HF_HUB_OFFLINE``) and a missing token.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    if not any((folder / name).is_file() for name in (CONFIG_NAME, CLASSIFIER_CONFIG)):
        raise ValueError(f"{folder} is not a saved relvec folder (no {CONFIG_NAME} or {CLASSIFIER_CONFIG})")
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts) or any(c.isspace() for c in repo_id):
        raise ValueError(f"--repo-id must look like USER/NAME, got {repo_id!r}")
    if api is None:
        if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
            raise RuntimeError("HF_HUB_OFFLINE is set: pushing needs the network (unset it to push)")
        try:
            from huggingface_hub import HfApi, get_token
        except ImportError as exc:  # pragma: no cover - a transformers dependency, normally present
            raise ImportError("pushing needs huggingface_hub: pip install huggingface_hub") from exc
        token = token or get_token()
        if not token:
            raise RuntimeError("no Hugging Face token: run `hf auth login`, set HF_TOKEN, or pass --token")
        api = HfApi(token=token)
    try:
        api.create_repo(repo_id=repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="model",
            commit_message=commit_message,
            ignore_patterns=IGNORE_PATTERNS,
        )
    except OSError as exc:  # requests' ConnectionError is an OSError
        raise RuntimeError(f"could not reach the Hugging Face hub to push {repo_id}: {exc}") from exc
    return str(getattr(info, "commit_url", info))


def has_card(folder: str | Path) -> bool:
    return (Path(folder) / CARD_FILE).is_file()
