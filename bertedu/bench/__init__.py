"""Timing experiments: eager vs SDPA attention, bertedu vs transformers, padded vs unpadded.

The seed experiment is the table of the transformers BERT documentation (A100-80GB, float16,
random-weight bert-base-uncased): a **training** grid (batch 4/8/16 x sequence 256/512; time per
batch and peak memory of forward + backward + optimizer step) and an **inference** grid (batch
1/2/4 x sequence 128/256; latency and peak memory), eager attention against SDPA. We add a
**variable-length training** grid (lengths drawn from SST-2 or a lognormal) where the unpadded
path of :mod:`bertedu.model.unpadded` (and optionally ``torch.compile``) races transformers' SDPA.

Method (the same for every implementation; the measurement itself is :mod:`bertedu.bench.measure`):

* Inputs: random token ids; each sequence has a random length uniform in ``[T/2, T]`` and is
  right-padded to ``T`` with an attention mask (the seed benchmarks padded random inputs with a
  mask); MLM labels on 15% of the real tokens (training).
* Before anything is timed, the eager and SDPA models (same weights) must agree
  (``torch.testing.assert_close``'s criterion at the real tokens, dtype tolerances of
  :data:`TOLERANCES`); every row records the tolerances, the largest difference and the fraction
  of the tolerance the worst element used, and the verdicts follow from them. bertedu against
  transformers is checked the same way.
* ``warmup`` untimed steps, then ``reps`` timed steps per implementation in alternating order,
  synchronised, reported as median and quartiles (:func:`bertedu.bench.measure.time_alternating`).
* Peak memory of one step plus the implementation's own parameters and optimizer state
  (:func:`bertedu.bench.measure.measure_peak_memory`: the CUDA allocator's peak, or on CPU a
  tracker of live tensors).
* Model FLOPs count real tokens only, so padding is charged as waste; MFU divides by the GPU's
  dense peak (:func:`bertedu.bench.measure.model_flops`, :data:`bertedu.bench.measure.PEAK_TFLOPS`).

The package: :mod:`.workload` (grids and inputs), :mod:`.runner` (models, checks, timing),
:mod:`.profiling`, :mod:`.report` (CSV, ratios, :func:`recorded_results`: the recorded CSVs
shipped in ``bertedu/bench/results/``), :mod:`.seed` (the seed's published table),
:mod:`.findings` (every figure the chapter and the report state, computed) and :mod:`.cli`.
The measurement primitives are also reachable from here (``bench.time_alternating``,
``bench.TensorMemoryTracker``, ...), as the chapter uses them.

References:
    Vaswani et al. (2017), section 3.2 (attention); Dao et al. (2022), FlashAttention; Rabe and
    Staats (2021), Self-attention does not need O(n^2) memory; Chowdhery et al. (2022), PaLM,
    appendix B (MFU). The seed numbers: transformers documentation, BERT model page, section
    "Using Scaled Dot Product Attention (SDPA)".
"""

from __future__ import annotations

from .cli import cli
from .findings import figures, library_ratios, load_recorded, render_report, update_report
from .measure import (
    PEAK_TFLOPS,
    TensorMemoryTracker,
    matmul_params,
    measure_peak_memory,
    model_flops,
    peak_flops,
    spread,
    time_alternating,
)
from .profiling import PROFILE_COLUMNS, profile_grid
from .report import (
    default_csv_name,
    format_table,
    read_csv,
    recorded_results,
    summarize,
    write_csv,
)
from .runner import build_models, make_optimizer, run_grid, tolerance_used
from .seed import SEED_INFER_TABLE, SEED_SOURCE, SEED_TRAIN_TABLE
from .workload import (
    AGREEMENT_COLUMNS,
    COLUMNS,
    CPU_DTYPES,
    CUDA_DTYPES,
    GPU_VARLEN,
    GRIDS,
    SEED_INFER,
    SEED_TRAIN,
    TOLERANCES,
    Grid,
    check_dtype,
    lognormal_lengths,
    padded_batch,
    sst2_lengths,
    uniform_lengths,
    varlen_lengths,
)

__all__ = [
    "AGREEMENT_COLUMNS", "COLUMNS", "CPU_DTYPES", "CUDA_DTYPES", "GPU_VARLEN", "GRIDS",
    "PEAK_TFLOPS", "PROFILE_COLUMNS", "SEED_INFER", "SEED_INFER_TABLE", "SEED_SOURCE",
    "SEED_TRAIN", "SEED_TRAIN_TABLE", "TOLERANCES", "Grid", "TensorMemoryTracker",
    "build_models", "check_dtype", "cli", "default_csv_name", "figures", "format_table",
    "library_ratios", "load_recorded", "lognormal_lengths", "make_optimizer", "matmul_params",
    "measure_peak_memory", "model_flops", "padded_batch", "peak_flops", "profile_grid",
    "read_csv", "recorded_results", "render_report", "run_grid", "spread", "sst2_lengths",
    "summarize", "time_alternating", "tolerance_used", "uniform_lengths", "update_report",
    "varlen_lengths", "write_csv",
]
