"""Sharing saved folders on the Hugging Face hub (``relvec push``), through ``huggingface_hub``.

Only an explicit push touches the network; nothing else in relvec uploads or downloads on its own.
What is uploaded is listed file by file (:func:`pushable_files`): the folder's real files, never relvec's
hidden temporaries, training checkpoints, lock files or a link that leads out of the folder.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relvec.cards import CARD_FILE
from relvec.classifier import CLASSIFIER_CONFIG
from relvec.config import CONFIG_NAME
from relvec.files import TEMP_MARKERS

# Names that never leave the machine: relvec's staging/trash entries, checkpoints and locks.
_SKIPPED_DIRS = ("checkpoint",)
DEFAULT_TIMEOUT = 300.0


def _skipped(name: str) -> bool:
    return (
        any(marker in name for marker in TEMP_MARKERS)
        or name.startswith(_SKIPPED_DIRS)
        or name.startswith(".checkpoint")
        or name.endswith(".lock")
    )


def pushable_files(folder: str | Path) -> list[str]:
    """Relative POSIX paths of the files a push uploads: regular files (or links that stay inside the
    folder), outside hidden temporaries, checkpoints and locks."""
    root = Path(folder).resolve()
    found = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not _skipped(d) and not (Path(current) / d).is_symlink())
        for name in sorted(files):
            path = Path(current) / name
            if _skipped(name) or not path.resolve().is_relative_to(root) or not path.resolve().is_file():
                continue
            found.append(path.relative_to(root).as_posix())
    return found


def call_with_timeout(function: Callable[[], Any], timeout: float, what: str) -> Any:
    """``function()`` on a helper thread; a hub that accepts the connection and never answers gives a
    clear error after ``timeout`` seconds instead of a hang."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = function()
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name=f"relvec-{what}")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"the Hugging Face hub did not answer within {timeout:g} s ({what}); try again later")
    if "error" in result:
        raise result["error"]
    return result.get("value")


def push_to_hub(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload relvec model",
    api: Any = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Create ``repo_id`` (if needed) and upload the files of ``folder`` in one commit; returns the commit URL.

    ``api``: an object with ``create_repo`` and ``create_commit`` (default ``huggingface_hub.HfApi``).
    Refuses, before any network call, a folder relvec did not save, a malformed repo id, an offline
    session (``HF_HUB_OFFLINE``) and a missing token (taken from ``HF_TOKEN`` or the saved login when not given).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    if not any((folder / name).is_file() for name in (CONFIG_NAME, CLASSIFIER_CONFIG)):
        raise ValueError(f"{folder} is not a saved relvec folder (no {CONFIG_NAME} or {CLASSIFIER_CONFIG})")
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts) or any(c.isspace() for c in repo_id):
        raise ValueError(f"--repo-id must look like USER/NAME, got {repo_id!r}")
    if timeout <= 0:
        raise ValueError(f"--timeout must be > 0 seconds, got {timeout}")
    try:
        from huggingface_hub import CommitOperationAdd, HfApi, get_token
    except ImportError as exc:  # pragma: no cover - a transformers dependency, normally present
        raise ImportError("pushing needs huggingface_hub: pip install relvec[hub]") from exc
    if api is None:
        if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
            raise RuntimeError("HF_HUB_OFFLINE is set: pushing needs the network (unset it to push)")
        token = token or get_token()
        if not token:
            raise RuntimeError("no Hugging Face token: run `hf auth login` or set HF_TOKEN")
        api = HfApi(token=token)
    files = pushable_files(folder)
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name)) for name in files]
    try:
        call_with_timeout(
            lambda: api.create_repo(repo_id=repo_id, private=private, exist_ok=True, repo_type="model"),
            timeout,
            "create_repo",
        )
        info = call_with_timeout(
            lambda: api.create_commit(
                repo_id=repo_id, repo_type="model", operations=operations, commit_message=commit_message
            ),
            timeout,
            "upload",
        )
    except TimeoutError:
        raise
    except OSError as exc:  # requests' ConnectionError is an OSError
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise RuntimeError(f"could not reach the Hugging Face hub to push {repo_id}: {first}") from None
    return str(getattr(info, "commit_url", info))


def has_card(folder: str | Path) -> bool:
    return (Path(folder) / CARD_FILE).is_file()
