"""Data parallelism on ``torch.distributed``: one process per device, one model replica each.

Data-parallel training runs ``W`` processes (ranks). Each holds a full copy of the model and
computes the gradient of its share of every micro-batch; ``DistributedDataParallel`` (DDP) then
all-reduces the gradients during the backward pass, so every rank applies the same update and the
replicas stay identical. With the global loss ``L = sum_r L_r`` split into per-rank shares, the
update equals the single-process one on the whole batch:

    g = (1/W) sum_r grad(W * L_r) = grad(sum_r L_r) = grad(L)

(DDP averages over ranks, hence the factor ``W``). During gradient accumulation only the last
micro-batch synchronises (``DDP.no_sync`` for the others), since the sum of the local gradients
is all that is needed. The processes are started by ``torchrun``, which sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address; :func:`init_from_env` reads them.
Backends: ``nccl`` on CUDA, ``gloo`` on CPU (what the tests use).

References:
    Li et al., 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training"
    (DDP, gradient bucketing, ``no_sync``). Goyal et al., 2017, "Accurate, Large Minibatch SGD"
    (the global batch as the unit of the recipe).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Distributed", "init_from_env"]


@dataclass(frozen=True)
class Distributed:
    """Where this process stands: ``rank`` of ``world_size``, and its ``local_rank`` on the node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs, evaluates and writes files."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @classmethod
    def current(cls) -> Distributed:
        """The process group this process joined, or a single process when there is none."""
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", dist.get_rank())))
        return cls()

    def shard(self, rows: int) -> slice:
        """This rank's contiguous block of a batch of ``rows`` examples (``rows % W == 0``)."""
        if rows % self.world_size:
            raise ValueError(f"a batch of {rows} examples cannot be split evenly over "
                             f"{self.world_size} processes: make the batch size a multiple of it")
        per = rows // self.world_size
        return slice(self.rank * per, (self.rank + 1) * per)

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        """All-reduce ``t`` with a sum over ranks (``t`` itself in a single process)."""
        if self.active:
            t = t.clone()
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def agree(self, flag: bool) -> bool:
        """Rank 0's ``flag``, on every rank (a decision such as "out of time")."""
        if not self.active:
            return flag
        t = torch.tensor([int(flag)])
        dist.broadcast(t, src=0)
        return bool(t.item())

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def init_from_env(device: str | None = None) -> tuple[Distributed, str]:
    """Join the process group ``torchrun`` describes in the environment, if any.

    Returns the context and the device this rank should use: ``cuda:LOCAL_RANK`` on a CUDA
    machine (unless ``device`` names one), else ``device`` or ``"cpu"``. Without ``WORLD_SIZE`` > 1
    in the environment nothing is initialised (a single process).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed(), device or ("cuda" if torch.cuda.is_available() else "cpu")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and (device is None or str(device).startswith("cuda"))
    if use_cuda:
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    else:
        device = "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Distributed.current(), device
