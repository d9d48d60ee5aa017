"""Data-parallel training across processes (torchrun): which process this is, and gradient all-reduce.

relvec's trainer reduces gradients itself instead of wrapping the model in ``DistributedDataParallel``:
its gradient cache runs several backward passes per relation, which DDP's per-backward hooks would
all-reduce each time. One explicit all-reduce (a single flattened buffer, SUM) per optimiser step is the
same arithmetic as DDP's, once per step. The backend is gloo on CPU and nccl on CUDA.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_environment() -> bool:
    """Join the process group torchrun describes (``WORLD_SIZE`` > 1); False when there is none.

    For command-line entry points only: it changes process-wide state."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    if backend == "nccl":  # pragma: no cover - needs GPUs
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def barrier() -> None:
    if world()[1] > 1:
        dist.barrier()


def all_reduce_gradients(params: Sequence[torch.Tensor]) -> None:
    """Sum every parameter's ``.grad`` over the processes (one flattened buffer). A parameter without a
    gradient on every process keeps none; one that has a gradient somewhere gets the sum (zeros elsewhere)."""
    if world()[1] == 1 or not params:
        return
    present = torch.tensor([p.grad is not None for p in params], dtype=torch.float32)
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float() for p in params])
    buffer = torch.cat([present.to(flat.device), flat])
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
    present, flat = buffer[: len(params)], buffer[len(params) :]
    offset = 0
    for p, seen in zip(params, present.tolist(), strict=True):
        size = p.numel()
        p.grad = flat[offset : offset + size].view_as(p).to(p.dtype).clone() if seen > 0 else None
        offset += size


def all_reduce_sum(values: Sequence[float]) -> list[float]:
    """Element-wise sums of a few numbers over the processes."""
    if world()[1] == 1:
        return list(values)
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()
