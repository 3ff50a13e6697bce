"""Measuring honestly: wall time, peak memory and model FLOPs utilisation (MFU).

Timing (:func:`time_alternating`, :func:`spread`):

* **Warm-up.** The first calls of a model pay one-off costs (allocator growth, kernel selection,
  lazy initialisation, ``torch.compile``), so ``warmup`` untimed calls of every function come
  first.
* **Synchronisation.** CUDA kernels run asynchronously: ``perf_counter`` around a launch measures
  the launch, not the work. The device is synchronised before and after every timed call.
* **Alternation.** The implementations are timed in alternating order (A B C, then C B A, ...)
  rather than all A then all B, so slow drifts (clock boost and thermals, other processes, caches)
  hit every implementation alike.
* **Median and spread.** We report the median of the repetitions (robust to the odd slow outlier)
  with the quartiles, minimum and maximum, so a reader sees how noisy the number is.

Peak memory (:func:`measure_peak_memory`): on CUDA, ``torch.cuda.max_memory_allocated`` during
one call minus what was allocated before it; on CPU there is no allocator counter, so
:class:`TensorMemoryTracker` adds up the bytes of every tensor created during the call that is
still alive (an estimate of tensor memory, not the process's resident set). Both add
``state_bytes`` (:func:`model_state_bytes`: the implementation's own parameters and optimizer
state), so models resident for other implementations do not count.

Model FLOPs (:func:`model_flops`, the accounting of Chowdhery et al., 2022, appendix B): with
``P`` the number of weights in matrix multiplications (:func:`matmul_params`: ``L (4H^2 + 2HI)``
in the encoder, plus ``H^2 + VH`` for the MLM head) and real sequence lengths ``t_b``,

$$ F_{train} = 6 P \\sum_b t_b + 12 L H \\sum_b t_b^2, \\qquad
   F_{infer} = 2 P \\sum_b t_b + 4 L H \\sum_b t_b^2 $$

(the second term is the two attention products ``QK^T`` and ``PV``, twice as expensive backward).
Only real tokens count, so a padded implementation is charged for its wasted work. The model FLOPs
utilisation is ``MFU = F / (time * peak)`` with the dense peak of :data:`PEAK_TFLOPS`.

References:
    Chowdhery et al. (2022), PaLM, appendix B (model FLOPs utilisation); Kaplan et al. (2020),
    Scaling laws for neural language models, section 2.1 (the 6 N FLOPs per token estimate);
    Korthikanti et al. (2023), Reducing activation recomputation (activation memory of attention,
    section 4.1); the PyTorch documentation on CUDA semantics (asynchronous execution, memory
    management).
"""

from __future__ import annotations

import gc
import statistics
import time
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from ..config import BertConfig

# ------------------------------------------------------------------------------- FLOPs

# Dense (no structured sparsity) peak tensor throughput in TFLOP/s from the vendors' data sheets.
# Keys are matched against torch.cuda.get_device_name() in order; the first match wins.
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "H200": {"float16": 989.0, "bfloat16": 989.0, "float32": 67.0},
    "H100 PCIe": {"float16": 756.0, "bfloat16": 756.0, "float32": 51.0},
    "H100": {"float16": 989.0, "bfloat16": 989.0, "float32": 67.0},
    "A100": {"float16": 312.0, "bfloat16": 312.0, "float32": 19.5},
    "L4": {"float16": 121.0, "bfloat16": 121.0, "float32": 30.3},
    "T4": {"float16": 65.0, "float32": 8.1},
}


def peak_flops(device_name: str, dtype: str) -> float | None:
    """Peak FLOP/s of a GPU named ``device_name`` in ``dtype``, or ``None`` when unknown."""
    for key, peaks in PEAK_TFLOPS.items():
        if key.lower() in device_name.lower():
            return peaks[dtype] * 1e12 if dtype in peaks else None
    return None


def matmul_params(config: BertConfig, mlm_head: bool = True) -> int:
    """Weights that take part in matrix multiplications (embedding lookups do not count)."""
    H, I, L, V = (config.hidden_size, config.intermediate_size, config.num_hidden_layers,
                  config.vocab_size)
    return L * (4 * H * H + 2 * H * I) + ((H * H + V * H) if mlm_head else 0)


def model_flops(config: BertConfig, lengths: list[int], training: bool = True,
                mlm_head: bool = True) -> float:
    """Model FLOPs of one step on sequences of real lengths ``lengths`` (see the module doc)."""
    P = matmul_params(config, mlm_head)
    L, H = config.num_hidden_layers, config.hidden_size
    tokens = sum(lengths)
    squares = sum(t * t for t in lengths)
    if training:
        return 6.0 * P * tokens + 12.0 * L * H * squares
    return 2.0 * P * tokens + 4.0 * L * H * squares


# ------------------------------------------------------------------------------- memory


class TensorMemoryTracker(TorchDispatchMode):
    """Peak bytes of tensors created inside the ``with`` block (a CPU memory estimate).

    Every operator's outputs are recorded by storage; a storage counts until it is freed (a weak
    reference callback). ``peak`` is the largest total seen. Views share their base's storage and
    count once. Memory allocated inside fused kernels and freed before they return is invisible.
    """

    def __enter__(self):
        self.live = 0
        self.peak = 0
        self._refs: dict[int, weakref.ref] = {}
        return super().__enter__()

    def _free(self, key: int, nbytes: int, _ref: weakref.ref) -> None:
        if self._refs.pop(key, None) is not None:
            self.live -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if not isinstance(t, torch.Tensor) or t.is_nested:
                continue
            storage = t.untyped_storage()
            key = storage._cdata
            if key in self._refs:
                continue
            nbytes = storage.nbytes()
            self._refs[key] = weakref.ref(storage, lambda r, k=key, n=nbytes: self._free(k, n, r))
            self.live += nbytes
            self.peak = max(self.peak, self.live)
        return out


def model_state_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> int:
    """Bytes of ``model``'s parameters and buffers plus ``optimizer``'s state tensors."""
    n = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
    if optimizer is not None:
        n += sum(v.numel() * v.element_size() for s in optimizer.state.values()
                 for v in s.values() if torch.is_tensor(v))
    return n


def measure_peak_memory(fn: Callable[[], Any], device: torch.device,
                        state_bytes: int) -> tuple[float, str]:
    """(peak MiB of one call of ``fn`` plus ``state_bytes``, how it was measured)."""
    if device.type == "cuda":
        gc.collect()  # drop tensors of earlier steps still waiting for the collector
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - before
        return (peak + state_bytes) / 2**20, "cuda.max_memory_allocated"
    with TensorMemoryTracker() as tracker:
        fn()
    return (tracker.peak + state_bytes) / 2**20, "cpu tensor estimate (dispatch tracker)"


# ------------------------------------------------------------------------------- timing


def time_alternating(fns: dict[str, Callable[[], Any]], reps: int, warmup: int,
                     device: torch.device) -> dict[str, list[float]]:
    """Seconds of ``reps`` calls of each function, interleaved A B C, C B A, A B C, ..."""
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            sync()
            start = time.perf_counter()
            fns[name]()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def spread(times: list[float]) -> dict[str, float]:
    """Median, quartiles, min and max of a list of timings (seconds)."""
    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else times * 3
    return {"time_median_s": statistics.median(times), "time_q1_s": q[0], "time_q3_s": q[2],
            "time_min_s": min(times), "time_max_s": max(times)}


__all__ = [
    "PEAK_TFLOPS", "TensorMemoryTracker", "matmul_params", "measure_peak_memory",
    "model_flops", "model_state_bytes", "peak_flops", "spread", "time_alternating",
]
