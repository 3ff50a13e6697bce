"""Where the time of one training step goes: a per-kernel (GPU) or per-operator (CPU) profile."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import torch

from ..config import BertConfig
from .runner import _device_name, _to, _train_step, build_models, make_optimizer
from .workload import GRIDS, check_dtype, padded_batch, uniform_lengths

# ------------------------------------------------------------------------------- profile

PROFILE_COLUMNS = ("date", "device", "device_name", "dtype", "torch_version", "model",
                   "benchmark", "library", "implementation", "batch", "seq", "op", "calls",
                   "self_ms", "share")


def profile_grid(grid: str = "cpu-quick", dtype: str | None = None,
                 compare_transformers: bool = False, top: int = 12, seed: int = 0,
                 log: Callable[[str], None] | None = print) -> list[dict[str, Any]]:
    """Where the time of one training step goes, operator by operator (``torch.profiler``).

    Profiles one forward + backward + AdamW step at the grid's largest training point (batch x
    sequence) for every implementation, after two warm-up steps. Each implementation gives its
    ``top`` entries by self time and one ``(other)`` row with the rest: on a GPU the CUDA kernels
    (their names say which library and algorithm ran: cuBLAS/CUTLASS products, the flash,
    memory-efficient or cuDNN attention kernels), on a CPU the ATen operators by CPU time;
    ``share`` is the fraction of the step's total.
    """
    from torch.profiler import ProfilerActivity, profile

    g = GRIDS[grid]
    if not g.train:
        raise ValueError(f"grid {grid!r} has no training points to profile")
    if g.device == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"grid {grid!r} needs a CUDA GPU and torch.cuda.is_available() is False")
    dtype = dtype or ("float16" if g.device == "cuda" else "float32")
    torch_dtype = check_dtype(g.device, dtype)
    device = torch.device(g.device)
    config = BertConfig.preset(g.preset, **g.overrides)
    models = build_models(config, device, torch_dtype, compare_transformers, seed)
    B, T = max(g.train, key=lambda p: p[0] * p[1])
    generator = torch.Generator().manual_seed(seed)
    lengths = uniform_lengths(B, T, generator)
    batch = _to(padded_batch(lengths, T, config.vocab_size, generator), device)
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows: list[dict[str, Any]] = []
    for (library, impl), model in models.items():
        model.train()
        step = _train_step(model, make_optimizer(model), batch)
        for _ in range(2):
            step()
        if cuda:
            torch.cuda.synchronize(device)
        with profile(activities=activities) as prof:
            step()
            if cuda:
                torch.cuda.synchronize(device)
        events = prof.key_averages()

        def self_us(e) -> float:
            if cuda:
                return getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0))
            return e.self_cpu_time_total

        if cuda:  # kernels only: an operator's device time repeats that of its kernels
            events = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA]
        events = sorted((e for e in events if self_us(e) > 0), key=self_us, reverse=True)
        total = sum(self_us(e) for e in events)
        base = {"date": date, "device": device.type, "device_name": _device_name(device),
                "dtype": dtype, "torch_version": torch.__version__, "model": g.preset,
                "benchmark": "train", "library": library, "implementation": impl,
                "batch": B, "seq": T}
        for e in events[:top]:
            rows.append(dict(base, op=e.key, calls=e.count, self_ms=self_us(e) / 1e3,
                             share=self_us(e) / total))
        rest = events[top:]
        rows.append(dict(base, op="(other)", calls=sum(e.count for e in rest),
                         self_ms=sum(self_us(e) for e in rest) / 1e3,
                         share=sum(self_us(e) for e in rest) / total))
        if log:
            log(f"profile {library} {impl}: {total / 1e3:.2f} ms of self time, top op "
                f"{events[0].key} ({self_us(events[0]) / total:.0%})")
    return rows
