"""Choosing the compute precision: bf16 autocast where the hardware runs it fast, fp32 elsewhere."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16")
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
