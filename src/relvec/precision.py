"""Choosing the compute precision: bf16 autocast where the hardware runs it fast, fp32 elsewhere."""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from relvec.options import PRECISIONS, check_choice

_SWAP_LOCKS: weakref.WeakKeyDictionary[torch.nn.Module, Any] = weakref.WeakKeyDictionary()
_SWAP_LOCKS_GUARD = threading.Lock()
# Read only when precision is "auto": forces fp32, bf16 or the hardware's choice (e.g. to test bf16 anywhere).
PRECISION_ENV = "RELVEC_PRECISION"


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 matrix units (AMX or AVX512-BF16).

    Without them PyTorch emulates bf16 and autocast is several times *slower* than fp32
    (measured 5x slower on an AVX2-only AMD EPYC), so "auto" must not pick it.
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return bool({"amx_bf16", "avx512_bf16"} & flags)
    return False


def check_precision(precision: str) -> str:
    """``precision`` when it is one of :data:`~relvec.options.PRECISIONS` (a model's default), else a ValueError."""
    return check_choice("precision", precision, PRECISIONS)


def compute_dtype(precision: str, device: torch.device | None = None) -> torch.dtype:
    """The dtype of the large products for ``precision`` ("auto" resolved for ``device``, default the CPU)."""
    resolved = resolve_precision(precision, device or torch.device("cpu"))
    return torch.bfloat16 if resolved == "bf16" else torch.float32


def resolve_precision(precision: str, device: torch.device) -> str:
    """Map ``"auto"`` to ``"bf16"`` or ``"fp32"`` for the given device; validate the others.

    ``"auto"`` honours ``$RELVEC_PRECISION`` (fp32, bf16 or auto) before asking the hardware.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    forced = os.environ.get(PRECISION_ENV, "auto").strip().lower() or "auto"
    if forced not in PRECISIONS:
        raise ValueError(f"${PRECISION_ENV} must be one of {', '.join(PRECISIONS)}, got {forced!r}")
    if forced != "auto":
        return forced
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return "fp32"


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Autocast context for a *resolved* precision (``"fp32"`` is a no-op)."""
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        yield


@contextlib.contextmanager
def bf16_weights(module: torch.nn.Module, enabled: bool = True) -> Iterator[None]:
    """Run ``module`` with bf16 copies of its float parameters and buffers; the originals come back after.

    For inference only (gradients would reach the copies). On CPUs with native bf16 this is faster than
    autocast, which casts every linear layer's input on every call and runs the other ops in fp32 (measured
    in BENCHMARKS.md); the originals are restored untouched, so no precision is lost for later training.
    """
    if not enabled:
        yield
        return
    # One swap at a time per module: two threads swapping at once would each keep the other's bf16 copies
    # as "originals" and could leave the module in bf16.
    with _SWAP_LOCKS_GUARD:
        lock = _SWAP_LOCKS.setdefault(module, threading.RLock())
    with lock:
        tensors = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
        originals = [t.data for t in tensors]
        try:
            for tensor, data in zip(tensors, originals, strict=True):
                tensor.data = data.to(torch.bfloat16)
            yield
        finally:
            for tensor, data in zip(tensors, originals, strict=True):
                tensor.data = data
