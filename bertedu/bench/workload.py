"""What the benchmark runs: the grids (model size, batch x sequence points) and their inputs.

The seed's grids (transformers documentation, A100, float16): training at batch 4/8/16 x sequence
256/512 and inference at batch 1/2/4 x 128/256, on bert-base. Inputs are random token ids with
random lengths, right-padded with an attention mask, as the seed's scripts did; the
variable-length grid draws lengths from SST-2 or a lognormal and pads to the longest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

# ------------------------------------------------------------------------------- constants

COLUMNS = (
    "date", "grid", "benchmark", "library", "implementation", "model", "dtype", "device",
    "device_name", "threads", "torch_version", "transformers_version", "batch", "seq",
    "real_tokens", "padding", "reps", "warmup", "time_median_s", "time_q1_s", "time_q3_s",
    "time_min_s", "time_max_s", "per_token_ms", "tokens_per_s", "peak_mem_mb", "mem_method",
    "model_tflops", "mfu", "eager_sdpa_agree", "eager_sdpa_max_abs_diff", "transformers_agree",
    "atol", "rtol", "eager_sdpa_tol_used", "transformers_max_abs_diff", "transformers_tol_used",
)
# Columns added after the first recordings (the agreement as measured, not only its verdict).
# Rows recorded before carry only the verdicts and ``eager_sdpa_max_abs_diff``;
# :func:`bertedu.bench.read_csv` fills ``atol``/``rtol`` from :data:`TOLERANCES` (unchanged since
# the first recording) and leaves the other new columns empty.
AGREEMENT_COLUMNS = COLUMNS[-5:]

CPU_DTYPES = ("float32", "bfloat16")
CUDA_DTYPES = ("float16", "bfloat16", "float32")

# (atol, rtol) for the eager-vs-SDPA and bertedu-vs-transformers checks on last_hidden_state:
# they agree when |a - b| <= atol + rtol * |b| at every real token (torch.testing.assert_close)
TOLERANCES = {"float32": (1e-4, 1e-4), "float16": (2e-2, 2e-2), "bfloat16": (1e-1, 5e-2)}


# ------------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class Grid:
    """One experiment: model size, grid points and repetitions.

    ``train`` and ``infer`` hold ``(batch, seq)`` points; ``varlen`` holds ``(batch, max_len,
    lengths)`` points with ``lengths`` ``"sst2"`` or ``"lognormal"``.
    """

    preset: str
    device: str
    train: tuple[tuple[int, int], ...] = ()
    infer: tuple[tuple[int, int], ...] = ()
    varlen: tuple[tuple[int, int, str], ...] = ()
    reps: int = 5
    warmup: int = 2
    overrides: dict[str, Any] = field(default_factory=dict)


SEED_TRAIN = ((4, 256), (4, 512), (8, 256), (8, 512), (16, 256), (16, 512))
SEED_INFER = ((1, 128), (1, 256), (2, 128), (2, 256), (4, 128), (4, 256))
GPU_VARLEN = ((32, 128, "sst2"), (128, 128, "sst2"), (16, 512, "lognormal"),
              (64, 512, "lognormal"))

GRIDS: dict[str, Grid] = {
    "cpu-quick": Grid("tiny", "cpu", train=((2, 32), (2, 64)), infer=((1, 32), (2, 64)),
                      varlen=((4, 64, "lognormal"),), reps=2, warmup=1,
                      overrides={"vocab_size": 1000}),
    "cpu": Grid("mini", "cpu", train=((4, 128), (4, 256), (8, 128), (8, 256)),
                infer=SEED_INFER, varlen=((32, 128, "sst2"), (8, 256, "lognormal")),
                reps=5, warmup=2),
    "gpu-train": Grid("base", "cuda", train=SEED_TRAIN, reps=50, warmup=10),
    "gpu-infer": Grid("base", "cuda", infer=SEED_INFER, reps=50, warmup=10),
    "gpu-varlen": Grid("base", "cuda", varlen=GPU_VARLEN, reps=50, warmup=10),
    "gpu": Grid("base", "cuda", train=SEED_TRAIN, infer=SEED_INFER, varlen=GPU_VARLEN,
                reps=50, warmup=10),
}


def check_dtype(device: str, dtype: str) -> torch.dtype:
    """The torch dtype for ``dtype`` on ``device``; ``ValueError`` for unsupported pairs."""
    allowed = CUDA_DTYPES if device == "cuda" else CPU_DTYPES
    if dtype not in allowed:
        raise ValueError(f"dtype {dtype!r} is not benchmarked on {device}; expected one of "
                         f"{allowed} (float16 matrix products are very slow on CPU)")
    return getattr(torch, dtype)


# ------------------------------------------------------------------------------- inputs


def padded_batch(lengths: list[int], seq: int, vocab_size: int, generator: torch.Generator,
                 mlm_probability: float = 0.15) -> dict[str, torch.Tensor]:
    """Random ids right-padded to ``seq``: ``input_ids``, ``attention_mask``, MLM ``labels``.

    Real tokens get ids in ``[1, vocab_size)`` (0 is ``[PAD]``); ``labels`` keep the id at a
    random ``mlm_probability`` of the real tokens (at least one per row) and ``-100`` elsewhere.
    All tensors are ``(B, seq)`` int64 on the CPU.
    """
    B = len(lengths)
    if max(lengths) > seq or min(lengths) < 1:
        raise ValueError(f"lengths must lie in [1, {seq}], got {min(lengths)}..{max(lengths)}")
    ids = torch.randint(1, vocab_size, (B, seq), generator=generator)  # (B, T)
    mask = (torch.arange(seq)[None, :] < torch.tensor(lengths)[:, None]).long()  # (B, T)
    ids = ids * mask  # (B, T) padding -> id 0
    chosen = (torch.rand(B, seq, generator=generator) < mlm_probability) & mask.bool()  # (B, T)
    chosen[:, 0] = True  # every row has a label
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))  # (B, T)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def uniform_lengths(batch: int, seq: int, generator: torch.Generator) -> list[int]:
    """The seed-style random lengths: uniform in ``[seq // 2, seq]``."""
    return torch.randint(seq // 2, seq + 1, (batch,), generator=generator).tolist()


def lognormal_lengths(batch: int, max_len: int, generator: torch.Generator,
                      median: float | None = None, sigma: float = 0.6) -> list[int]:
    """Lengths ``round(median * exp(sigma * z))``, ``z ~ N(0, 1)``, clipped to ``[8, max_len]``.

    The default median is ``max_len / 4``: most sequences are short, a few fill the window (the
    shape of natural-text length histograms).
    """
    median = max_len / 4 if median is None else median
    z = torch.randn(batch, generator=generator)  # (B,)
    lengths = (median * torch.exp(sigma * z)).round().clamp(8, max_len)  # (B,)
    return [int(t) for t in lengths.tolist()]


def sst2_lengths(data_dir: str | os.PathLike | None = None,
                 tokenize: Callable[[str], list] | None = None) -> list[int]:
    """Token counts of the SST-2 validation sentences (``[CLS]`` and ``[SEP]`` included).

    ``tokenize`` maps a sentence to its tokens (e.g. a BertTokenizer's ``tokenize``); without one
    the count is the number of whitespace-separated words (GLUE's text is already split at
    punctuation; WordPiece adds a few more pieces). Reads ``<data_dir>/sst2/validation.jsonl``
    with ``data_dir`` defaulting to ``$BERTEDU_DATA``; raises ``FileNotFoundError`` when absent.
    """
    data_dir = data_dir or os.environ.get("BERTEDU_DATA")
    if not data_dir:
        raise FileNotFoundError("no data directory: pass data_dir or set BERTEDU_DATA")
    path = Path(data_dir) / "sst2" / "validation.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"SST-2 validation file not found: {path}")
    split = tokenize or str.split
    with path.open(encoding="utf-8") as f:
        return [len(split(json.loads(line)["sentence"])) + 2 for line in f if line.strip()]


def varlen_lengths(batch: int, max_len: int, source: str, generator: torch.Generator,
                   sst2: list[int] | None = None) -> tuple[list[int], str]:
    """``batch`` lengths from ``source`` (``sst2`` or ``lognormal``) and a description."""
    if source == "sst2" and sst2:
        pick = torch.randint(len(sst2), (batch,), generator=generator).tolist()
        return [min(sst2[i], max_len) for i in pick], "sst2 lengths, pad to longest"
    if source not in ("sst2", "lognormal"):
        raise ValueError(f"unknown length source {source!r}; expected 'sst2' or 'lognormal'")
    lengths = lognormal_lengths(batch, max_len, generator)
    note = "" if source == "lognormal" else " (SST-2 data not found)"
    return lengths, f"lognormal(median={max_len / 4:g}, sigma=0.6){note}, pad to longest"
