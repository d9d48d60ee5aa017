"""The trainer's on-disk state: checkpoints that survive a kill at any instruction, with no pickle.

A checkpoint is one folder, ``<output_dir>/checkpoint``, written whole to a hidden sibling and swapped
in (:func:`relvec.files.write_dir`); its ``manifest.json`` (written last, with a checksum per file)
makes it complete. It holds everything needed to continue *and* to finish:

- ``model.safetensors``: the weights after the epoch;
- ``best_model.safetensors``: the selected epoch's weights when that is an earlier epoch (a hard link
  to the previous checkpoint's file, so no copy is made);
- ``optimizer.safetensors`` + ``trainer_state.json``: optimiser, scheduler, loss and RNG state as
  tensors plus a JSON skeleton (:func:`flatten_state`), and the trainer's counters and history.

The run is finished once ``history.json`` (written after the final model) exists; until then a
``--resume`` redoes whatever part of the finish was interrupted, from the checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from relvec.files import (
    FileFormatError,
    create,
    find_complete,
    read_json,
    read_safetensors,
    remove,
    rename,
    sweep_temporaries,
    verify_manifest,
    write_dir,
    write_manifest,
)

CHECKPOINT = "checkpoint"
STATE_FILE = "trainer_state.json"
WEIGHTS_FILE = "model.safetensors"
BEST_FILE = "best_model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
HISTORY_FILE = "history.json"


# ---------------------------------------------------------------------------- state without pickle
def flatten_state(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "s") -> Any:
    """A JSON skeleton of nested dicts/lists/scalars whose tensors move to ``tensors`` (for safetensors)."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().contiguous().cpu()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        items = []
        for i, (key, value) in enumerate(obj.items()):
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise TypeError(f"cannot store a {type(key).__name__} key in a checkpoint")
            items.append([key, flatten_state(value, tensors, f"{prefix}.{i}")])
        return {"__dict__": items}
    if isinstance(obj, list | tuple):
        values = [flatten_state(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]
        return {"__tuple__": values} if isinstance(obj, tuple) else values
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint")


def unflatten_state(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    if not isinstance(skeleton, dict):
        return skeleton
    if "__tensor__" in skeleton:
        return tensors[skeleton["__tensor__"]]
    if "__dict__" in skeleton:
        return {key: unflatten_state(value, tensors) for key, value in skeleton["__dict__"]}
    if "__tuple__" in skeleton:
        return tuple(unflatten_state(v, tensors) for v in skeleton["__tuple__"])
    if "__float__" in skeleton:
        return float(skeleton["__float__"])
    raise FileFormatError(f"unknown entry in a checkpoint state: {sorted(skeleton)}")


# ---------------------------------------------------------------------------- writing
def _save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    create(path, lambda p: save_file(tensors, str(p)))


def _link_or_copy(source: Path, target: Path) -> None:
    def link(path: Path) -> None:
        try:
            os.link(source, path)
        except OSError:
            shutil.copyfile(source, path)

    create(target, link)


def best_weights_file(folder: Path, state: dict[str, Any]) -> Path:
    """The file holding the selected epoch's weights in a complete checkpoint."""
    best = state.get("best") or {}
    return folder / (WEIGHTS_FILE if best.get("epoch") in (None, state["epoch"]) else BEST_FILE)


def save_checkpoint(
    output_dir: Path, weights: dict[str, torch.Tensor], extra: dict[str, Any], state: dict[str, Any]
) -> Path:
    """Replace ``<output_dir>/checkpoint`` with a complete new one (see the module docstring).

    ``state`` must carry ``epoch`` and ``best`` (``{"epoch": …}``); when the best epoch is not this one,
    its weights are taken from the current checkpoint, which must be complete and hold them.
    """
    target = output_dir / CHECKPOINT
    best_epoch = (state.get("best") or {}).get("epoch")
    source = None
    if best_epoch not in (None, state["epoch"]):
        previous = load_state(target)
        if previous is None or (previous.get("best") or {}).get("epoch") != best_epoch:
            raise FileFormatError(f"{target}: no complete checkpoint holds the weights of epoch {best_epoch}")
        source = best_weights_file(target, previous)

    def write(folder: Path) -> None:
        _save_tensors(folder / WEIGHTS_FILE, weights)
        if source is not None:
            _link_or_copy(source, folder / BEST_FILE)
        tensors: dict[str, torch.Tensor] = {}
        skeleton = flatten_state(extra, tensors)
        _save_tensors(folder / OPTIMIZER_FILE, tensors)
        text = json.dumps({**state, "extra": skeleton}, indent=2, allow_nan=True)
        create(folder / STATE_FILE, lambda p: p.write_text(text, encoding="utf-8"))
        write_manifest(folder, {"epoch": state["epoch"]})

    return write_dir(target, write)


# ---------------------------------------------------------------------------- reading
def load_state(folder: Path) -> dict[str, Any] | None:
    """The trainer state of a complete checkpoint folder (checksums verified), else None."""
    return _read_state(folder) if verify_manifest(folder) is not None else None


def _read_state(folder: Path) -> dict[str, Any]:
    """The trainer state of a folder whose manifest was already verified."""
    state = read_json(folder / STATE_FILE)
    if not isinstance(state, dict) or not isinstance(state.get("epoch"), int):
        raise FileFormatError(f"{folder / STATE_FILE}: not a relvec trainer state")
    return state


def recover_checkpoint(output_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """Settle ``<output_dir>/checkpoint`` on the newest complete checkpoint a killed run left (also under
    a hidden temporary or old name), sweep every other leftover, and return it with its state."""
    target = output_dir / CHECKPOINT
    complete = find_complete(target)
    if not complete:
        sweep_temporaries(output_dir)
        return None
    states = {folder: _read_state(folder) for folder in complete}  # find_complete verified their checksums
    newest = max(complete, key=lambda f: (states[f]["epoch"], f == target))
    if newest != target:
        remove(target)
        rename(newest, target)
    sweep_temporaries(output_dir)
    return target, states[newest]


def load_extra(folder: Path, state: dict[str, Any]) -> Any:
    """The optimiser/scheduler/loss/RNG state of a checkpoint (safetensors + JSON; nothing unpickled)."""
    return unflatten_state(state.get("extra"), read_safetensors(folder / OPTIMIZER_FILE))


def finished_run(output_dir: Path) -> dict[str, Any] | None:
    """The metadata of a run whose final model was completely written (``history.json``), else None.

    ``history.json`` is written after the final model (also by relvec versions before the checkpoint
    manifest, which did not mark it ``complete``) and removed when a new run starts in the folder.
    """
    path = Path(output_dir) / HISTORY_FILE
    if not path.is_file():
        return None
    data = read_json(path)
    return data if isinstance(data, dict) and "arguments" in data and data.get("complete", True) else None
