"""Safe file handling shared by every relvec module: atomic writes, checked reads, checksummed folders.

- Every write goes to a temporary sibling and is renamed into place, so a crash leaves either the
  old file or the new one, never half of one (devices and pipes such as ``/dev/stdout`` are written
  directly, since they cannot be replaced).
- Folders are removed by renaming them to a hidden trash name first, then deleting; stale temporary
  and trash entries of killed runs are swept by :func:`sweep_temporaries`.
- A folder's ``manifest.json`` (written last) lists the size and SHA-256 of each file, so a folder
  is complete exactly when :func:`verify_manifest` says so.
- Reads name the file (and line) in every error, and never unpickle anything.

All filesystem changes go through three primitives, ``_write``, ``_rename`` and ``_rmtree``, so tests
can inject a crash at each of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
# Hidden names of unfinished work; ``sweep_temporaries`` removes them.
TEMP_MARKERS = (".tmp-", ".old-", ".trash-")
_REPR_LIMIT = 80


class FileFormatError(ValueError):
    """A file that does not follow its format; the message names file, line and reason."""


def short_repr(value: Any, limit: int = _REPR_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, so an error never echoes a huge input."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}…[{len(text)} chars]"


# ---------------------------------------------------------------------------- primitives
def _write(path: Path, write: Callable[[Path], Any]) -> None:
    """Run ``write(path)``; the one place where relvec creates file content."""
    write(path)


def _rename(src: Path, dst: Path) -> None:
    os.replace(src, dst)


def _rmtree(path: Path) -> None:
    shutil.rmtree(path)


def create(path: Path, write: Callable[[Path], Any]) -> None:
    """Create a file inside a folder that is itself being staged (so it needs no rename of its own)."""
    _write(path, write)


def rename(src: Path, dst: Path) -> None:
    _rename(src, dst)


def _temp_name(target: Path, kind: str = "tmp") -> Path:
    # the target's suffix is kept at the end, for writers that add a missing one (np.save adds ".npy")
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}{target.suffix}")


def _is_special(path: Path) -> bool:
    """True for an existing path that is neither a regular file nor a folder (a device, a pipe)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _os_error(path: Path, exc: OSError) -> OSError:
    return type(exc)(exc.errno, f"cannot write {path}: {exc.strerror or exc}")


# ---------------------------------------------------------------------------- writing
def write_file(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Create ``path`` atomically: ``write`` fills a temporary sibling, which then replaces ``path``."""
    path = Path(path)
    if _is_special(path):
        try:
            write(path)
        except OSError as exc:
            raise _os_error(path, exc) from exc
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    tmp = _temp_name(path)
    try:
        _write(tmp, write)
        _rename(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise _os_error(path, exc) from exc
    except Exception:
        _discard(tmp)
        raise
    return path


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def write_bytes(path: str | Path, data: bytes) -> Path:
    return write_file(path, lambda p: p.write_bytes(data))


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_dir(target: str | Path, write: Callable[[Path], Any]) -> Path:
    """Create folder ``target`` atomically: fill a temporary sibling, then swap it in with renames.

    A crash leaves the old folder (possibly under a hidden ``.old-`` name, which :func:`find_complete`
    finds) or the new one.
    """
    target = Path(target)
    refuse_file(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(target)
    tmp.mkdir()
    try:
        write(tmp)
    except BaseException:
        _discard(tmp)
        raise
    old = _temp_name(target, "old")
    if target.exists():
        _rename(target, old)
    _rename(tmp, target)
    if old.exists():
        _rmtree(old)
    return target


def refuse_file(target: Path) -> None:
    """A folder never replaces an existing file (or link): that file may be the user's data."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise FileExistsError(f"{target}: an existing file is in the way of the output folder; choose another path")
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            raise FileExistsError(f"{parent}: an existing file is in the way of the output folder; choose another path")


def portable_paths(data: dict[str, Any], keys: Sequence[str] = ("output_dir", "data_dir")) -> dict[str, Any]:
    """``data`` with the absolute paths under ``keys`` cut to their last part: files meant to be shared
    never record a machine's folders."""
    out = dict(data)
    for key in keys:
        value = out.get(key)
        if isinstance(value, str) and Path(value).is_absolute():
            out[key] = Path(value).name
    return out


def move_contents(source: Path, target: Path, last: Sequence[str] = ()) -> None:
    """Move every entry of ``source`` into ``target``, one rename each (replacing same-named entries);
    the names in ``last`` go last, so their presence means the rest is there."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir(), key=lambda e: (e.name in last, e.name)):
        dest = target / entry.name
        if entry.is_dir():
            if dest.is_dir():
                move_contents(entry, dest)
                continue
            if dest.exists():
                remove(dest)
        _rename(entry, dest)


def save_into(target: str | Path, write: Callable[[Path], Any], last: Sequence[str] = ()) -> Path:
    """Write files into an existing (or new) folder without ever exposing a half-written file: ``write``
    fills a temporary sibling folder, whose entries are then renamed into ``target`` one by one
    (``last`` as in :func:`move_contents`). Other files already in ``target`` stay."""
    target = Path(target)
    refuse_file(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_siblings(target)  # a killed earlier save's staging folder
    staging = _temp_name(target)
    staging.mkdir()
    try:
        _write(staging, write)
        move_contents(staging, target, last)
    finally:
        _discard(staging)
    return target


def remove(path: str | Path) -> None:
    """Remove a file or folder; a folder is renamed to a hidden trash name first, so a crash midway
    never leaves a half-deleted folder under its real name."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink():
        trash = _temp_name(path, "trash")
        _rename(path, trash)
        _rmtree(trash)
    else:
        path.unlink()


def is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and any(marker in path.name for marker in TEMP_MARKERS)


def sweep_siblings(target: str | Path) -> list[Path]:
    """Delete the hidden temporary, old and trash siblings of ``target`` that killed runs left."""
    target = Path(target)
    prefixes = tuple(f".{target.name}{marker}" for marker in (".tmp-", ".old-", ".trash-"))
    return sweep_temporaries(target.parent, keep=lambda p: not p.name.startswith(prefixes))


def sweep_temporaries(folder: str | Path, keep: Callable[[Path], bool] = lambda p: False) -> list[Path]:
    """Delete the hidden temporary, old and trash entries that killed runs left in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    swept = [p for p in sorted(folder.iterdir()) if is_temporary(p) and not keep(p)]
    for path in swept:
        if path.is_dir():
            _rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return swept


# ---------------------------------------------------------------------------- manifests
def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, info: dict[str, Any] | None = None) -> None:
    """Record size and SHA-256 of every file in ``folder`` (call last: it marks the folder complete)."""
    entries = {
        str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": file_digest(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    write_json(folder / MANIFEST, {"files": entries, **(info or {})})


def verify_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete folder (every listed file present with its size and checksum), else None."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None
    for name, expected in manifest["files"].items():
        file = inside(folder, name)
        if file is None or not isinstance(expected, dict):
            return None  # a manifest naming anything outside its folder is not trusted, nor read further
        if not file.is_file() or file.stat().st_size != expected.get("size"):
            return None
        if file_digest(file) != expected.get("sha256"):
            return None
    return manifest


def inside(folder: Path, name: str) -> Path | None:
    """``folder / name`` when ``name`` is a plain relative name inside ``folder`` (no ``..``, no absolute
    path, no link on the way), else None."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return None
    relative = Path(name)
    if relative.is_absolute() or any(part in ("..", "") for part in relative.parts) or relative.anchor:
        return None
    path = folder / relative
    current = folder
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            return None
    return path


def find_complete(target: Path) -> list[Path]:
    """``target`` and its hidden ``.tmp-`` / ``.old-`` siblings whose manifest verifies."""
    candidates = [target, *sorted(target.parent.glob(f".{target.name}.*"))]
    return [c for c in candidates if c.is_dir() and ".trash-" not in c.name and verify_manifest(c) is not None]


# ---------------------------------------------------------------------------- reading
def read_json(path: str | Path) -> Any:
    """Parse a JSON file; every failure names the file (and line and column for syntax errors)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from None


def read_safetensors(path: str | Path) -> dict[str, Any]:
    """The tensors of a safetensors file (torch); a damaged or missing file names itself in one line."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        return load_file(str(path))
    except (SafetensorError, ValueError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileFormatError(f"{path}: not a readable safetensors file ({short_repr(first, 120)})") from None


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """``(line_number, text)`` of a UTF-8 file, newline removed; a BOM at the start is dropped, and
    bytes that are not UTF-8 raise :class:`FileFormatError` naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FileFormatError(
                    f"{path}:{number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                ) from None
            if number == 1:
                line = line.removeprefix("\ufeff")
            yield number, line.rstrip("\r\n")
