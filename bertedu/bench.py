"""Timing experiments: eager vs SDPA attention, bertedu vs transformers, padded vs unpadded.

The seed experiment is the table of the transformers BERT documentation (A100-80GB, float16,
random-weight bert-base-uncased): a **training** grid (batch 4/8/16 x sequence 256/512; time per
batch and peak memory of forward + backward + optimizer step) and an **inference** grid (batch
1/2/4 x sequence 128/256; latency and peak memory), eager attention against SDPA. We add a
**variable-length training** grid (lengths drawn from SST-2 or a lognormal) where the unpadded
path of :mod:`bertedu.unpadded` (and optionally ``torch.compile``) races transformers' SDPA.

Method (the same for every implementation; the measurement itself is :mod:`bertedu.measure`):

* Inputs: random token ids; each sequence has a random length uniform in ``[T/2, T]`` and is
  right-padded to ``T`` with an attention mask (the seed benchmarks padded random inputs with a
  mask); MLM labels on 15% of the real tokens (training).
* Before anything is timed, the eager and SDPA models (same weights) must agree
  (``torch.testing.assert_close`` at the real tokens, dtype tolerances of :data:`TOLERANCES`);
  the result is recorded in every row. bertedu against transformers is checked the same way.
* ``warmup`` untimed steps, then ``reps`` timed steps per implementation in alternating order,
  synchronised, reported as median and quartiles (:func:`bertedu.measure.time_alternating`).
* Peak memory of one step plus the implementation's own parameters and optimizer state
  (:func:`bertedu.measure.measure_peak_memory`: the CUDA allocator's peak, or on CPU a tracker of
  live tensors).
* Model FLOPs count real tokens only, so padding is charged as waste; MFU divides by the GPU's
  dense peak (:func:`bertedu.measure.model_flops`, :data:`bertedu.measure.PEAK_TFLOPS`).

The measurement primitives are also reachable from here (``bench.time_alternating``,
``bench.TensorMemoryTracker``, ...), as the chapter uses them.

References:
    Vaswani et al. (2017), section 3.2 (attention); Dao et al. (2022), FlashAttention; Rabe and
    Staats (2021), Self-attention does not need O(n^2) memory; Chowdhery et al. (2022), PaLM,
    appendix B (MFU). The seed numbers: transformers documentation, BERT model page, section
    "Using Scaled Dot Product Attention (SDPA)".
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .config import BertConfig
from .measure import (
    PEAK_TFLOPS,
    TensorMemoryTracker,
    matmul_params,
    measure_peak_memory,
    model_flops,
    model_state_bytes,
    peak_flops,
    spread,
    time_alternating,
)

# ------------------------------------------------------------------------------- constants

COLUMNS = (
    "date", "grid", "benchmark", "library", "implementation", "model", "dtype", "device",
    "device_name", "threads", "torch_version", "transformers_version", "batch", "seq",
    "real_tokens", "padding", "reps", "warmup", "time_median_s", "time_q1_s", "time_q3_s",
    "time_min_s", "time_max_s", "per_token_ms", "tokens_per_s", "peak_mem_mb", "mem_method",
    "model_tflops", "mfu", "eager_sdpa_agree", "eager_sdpa_max_abs_diff", "transformers_agree",
)

CPU_DTYPES = ("float32", "bfloat16")
CUDA_DTYPES = ("float16", "bfloat16", "float32")

# (atol, rtol) for the eager-vs-SDPA and bertedu-vs-transformers checks on last_hidden_state
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


# ------------------------------------------------------------------------------- models


def _transformers_version() -> str:
    try:
        import transformers
    except ImportError:
        return ""
    return transformers.__version__


def build_models(config: BertConfig, device: torch.device, dtype: torch.dtype,
                 compare_transformers: bool, seed: int = 0) -> dict[tuple[str, str], Any]:
    """Masked-LM models with identical random weights: ``{(library, impl): model}``.

    bertedu's eager model is saved with ``save_pretrained`` and every other model loads that
    checkpoint (transformers through its own ``from_pretrained``), so all share the weights.
    """
    from .modeling import BertForMaskedLM

    torch.manual_seed(seed)
    models: dict[tuple[str, str], Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        first = BertForMaskedLM(config.copy(attn_implementation="eager"))
        first.save_pretrained(tmp)
        for impl in ("eager", "sdpa"):
            model = first if impl == "eager" else BertForMaskedLM.from_pretrained(
                tmp, attn_implementation=impl)
            models[("bertedu", impl)] = model.to(device=device, dtype=dtype)
        if compare_transformers:
            for impl, model in _transformers_models(tmp, device, dtype).items():
                models[("transformers", impl)] = model
    return models


def _transformers_models(checkpoint: str, device: torch.device,
                         dtype: torch.dtype) -> dict[str, Any]:
    try:
        import transformers
    except ImportError:
        print("transformers is not installed: skipping the bertedu/transformers comparison",
              file=sys.stderr)
        return {}
    transformers.logging.set_verbosity_error()
    out = {}
    for impl in ("eager", "sdpa"):
        model = transformers.BertForMaskedLM.from_pretrained(checkpoint, attn_implementation=impl)
        out[impl] = model.to(device=device, dtype=dtype)
    return out


def _agreement(models: dict[tuple[str, str], Any], batch: dict[str, torch.Tensor],
               dtype: str) -> dict[str, Any]:
    """Check eager == SDPA (each library) and bertedu == transformers; raise if they differ."""
    atol, rtol = TOLERANCES[dtype]
    real = batch["attention_mask"].bool()  # (B, T)
    outs = {}
    with torch.inference_mode():
        for key, model in models.items():
            model.eval()
            hidden = model.bert(input_ids=batch["input_ids"],
                                attention_mask=batch["attention_mask"]).last_hidden_state
            outs[key] = hidden[real].float()  # (N, H)
    diff = 0.0
    for lib in {lib for lib, _ in models}:
        eager, sdpa = outs[(lib, "eager")], outs[(lib, "sdpa")]
        diff = max(diff, (eager - sdpa).abs().max().item())
        torch.testing.assert_close(sdpa, eager, atol=atol, rtol=rtol,
                                   msg=lambda m, lib=lib: f"{lib}: eager and SDPA differ: {m}")
    result: dict[str, Any] = {"eager_sdpa_agree": True, "eager_sdpa_max_abs_diff": diff,
                              "transformers_agree": ""}
    if ("transformers", "sdpa") in outs:
        torch.testing.assert_close(outs[("bertedu", "sdpa")], outs[("transformers", "sdpa")],
                                   atol=atol, rtol=rtol,
                                   msg=lambda m: f"bertedu and transformers differ: {m}")
        result["transformers_agree"] = True
    return result


# ------------------------------------------------------------------------------- running


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


def make_optimizer(model: torch.nn.Module) -> torch.optim.Optimizer:
    """AdamW (lr 1e-4) on the model's parameters, in their own dtype, as the seed trained.

    In float16 the default ``eps = 1e-8`` rounds to zero and squared gradients under ``6e-8``
    underflow, so the first step would divide by zero and fill the weights with inf/NaN; there
    ``eps`` is ``1e-4`` (the update costs the same either way, and the numbers stay finite).
    """
    dtype = next(model.parameters()).dtype
    return torch.optim.AdamW(model.parameters(), lr=1e-4,
                             eps=1e-4 if dtype == torch.float16 else 1e-8)


def _train_step(model, optimizer, batch) -> Callable[[], None]:
    def step() -> None:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def _unpadded_train_step(model, optimizer, batch, forward) -> Callable[[], None]:
    def step() -> None:
        loss = forward(batch["input_ids"], batch["attention_mask"], None, batch["labels"]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def _infer_step(model, batch) -> Callable[[], None]:
    bert = model.bert
    args = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def step() -> None:
        with torch.inference_mode():
            bert(**args)
    return step


def run_grid(grid: str = "cpu-quick", dtype: str | None = None, compare_transformers: bool = False,
             reps: int | None = None, threads: int | None = None, compile: bool = False,
             seed: int = 0, log: Callable[[str], None] | None = print,
             compile_mode: str | None = None,
             on_rows: Callable[[list[dict[str, Any]]], None] | None = None,
             ) -> list[dict[str, Any]]:
    """Run one grid of :data:`GRIDS`; return one row (dict over :data:`COLUMNS`) per grid point
    and implementation.

    Args:
        grid: a key of :data:`GRIDS`.
        dtype: ``float32``/``bfloat16`` on CPU, ``float16``/``bfloat16``/``float32`` on CUDA
            (default ``float32`` on CPU, ``float16`` on CUDA, as the seed).
        compare_transformers: also time transformers' eager and SDPA models (same weights).
        reps: timed repetitions per implementation (default: the grid's).
        threads: ``torch.set_num_threads`` for the run (default: unchanged).
        compile: add ``torch.compile``d variants to the variable-length grid.
        seed: seed of the weights and the inputs.
        log: progress printer (``None`` for silence).
        compile_mode: ``torch.compile`` mode of the compiled variants (``None``: the default;
            ``"reduce-overhead"`` replays CUDA graphs, which removes the per-kernel launch cost).
        on_rows: called with all rows so far after every grid point (the CLI rewrites its CSV
            there, so an interrupted run keeps what it measured).
    """
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; expected one of {tuple(GRIDS)}")
    g = GRIDS[grid]
    if g.device == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"grid {grid!r} needs a CUDA GPU and torch.cuda.is_available() is False;"
                         " use --grid cpu or cpu-quick")
    dtype = dtype or ("float16" if g.device == "cuda" else "float32")
    torch_dtype = check_dtype(g.device, dtype)
    reps = g.reps if reps is None else reps
    if reps < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    if threads is not None:
        torch.set_num_threads(threads)
    log = log or (lambda _msg: None)
    device = torch.device(g.device)
    config = BertConfig.preset(g.preset, **g.overrides)
    models = build_models(config, device, torch_dtype, compare_transformers, seed)
    base = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "grid": grid, "model": g.preset, "dtype": dtype, "device": device.type,
        "device_name": _device_name(device), "threads": torch.get_num_threads(),
        "torch_version": torch.__version__, "transformers_version": _transformers_version(),
        "reps": reps, "warmup": g.warmup,
    }
    peak = peak_flops(base["device_name"], dtype) if device.type == "cuda" else None
    generator = torch.Generator().manual_seed(seed)
    rows: list[dict[str, Any]] = []

    # agreement first: nothing is timed unless eager and SDPA compute the same function
    probe_seq = min(64, config.max_position_embeddings)
    probe = padded_batch(uniform_lengths(2, probe_seq, generator), probe_seq, config.vocab_size,
                         generator)
    agree = _agreement(models, _to(probe, device), dtype)
    if g.varlen:
        _check_unpadded(models[("bertedu", "sdpa")], _to(probe, device))
        log("unpadded forward == padded forward at the real tokens")
    log(f"eager vs SDPA agree (max |diff| {agree['eager_sdpa_max_abs_diff']:.2e})"
        + (", bertedu == transformers" if agree["transformers_agree"] is True else ""))
    base.update(agree)

    def optimizers() -> dict[tuple[str, str], torch.optim.Optimizer]:
        return {key: make_optimizer(m) for key, m in models.items()}

    def emit(kind: str, steps: dict, batch, lengths, padding, extra_models=None, opts=None):
        times = time_alternating(steps, reps, g.warmup, device)
        for name, fn in steps.items():
            library, impl = name
            model = (extra_models or models).get(name, models.get((library, "sdpa")))
            opt = (opts or {}).get(name)
            if kind == "infer":
                model = model.bert  # inference times the encoder alone
            mem, method = measure_peak_memory(fn, device, model_state_bytes(model, opt))
            stats = spread(times[name])
            tokens = sum(lengths)
            flops = model_flops(config, lengths, training=kind != "infer",
                                mlm_head=kind != "infer")
            row = dict(base, benchmark=kind, library=library, implementation=impl,
                       batch=len(lengths), seq=batch["input_ids"].shape[1], real_tokens=tokens,
                       padding=padding, peak_mem_mb=mem, mem_method=method, **stats)
            row["tokens_per_s"] = tokens / row["time_median_s"]
            row["model_tflops"] = flops / row["time_median_s"] / 1e12
            row["mfu"] = flops / row["time_median_s"] / peak if peak else ""
            row["per_token_ms"] = 1e3 * row["time_median_s"] / tokens if kind == "infer" else ""
            rows.append(row)
            log(f"{kind:<12} {library:<12} {impl:<17} B={len(lengths):<4} "
                f"T={row['seq']:<4} {1e3 * row['time_median_s']:9.2f} ms  {mem:9.1f} MiB")
        if on_rows is not None:
            on_rows(rows)

    for B, T in g.train:
        lengths = uniform_lengths(B, T, generator)
        batch = _to(padded_batch(lengths, T, config.vocab_size, generator), device)
        opts = optimizers()
        for m in models.values():
            m.train()
        steps = {key: _train_step(m, opts[key], batch) for key, m in models.items()}
        emit("train", steps, batch, lengths, "uniform[T/2,T] right-padded to T", opts=opts)

    for B, T in g.infer:
        lengths = uniform_lengths(B, T, generator)
        batch = _to(padded_batch(lengths, T, config.vocab_size, generator), device)
        for m in models.values():
            m.eval()
        steps = {key: _infer_step(m, batch) for key, m in models.items()}
        emit("infer", steps, batch, lengths, "uniform[T/2,T] right-padded to T")

    if g.varlen:
        _run_varlen(g, config, models, device, generator, compile, emit, compile_mode)
    return rows


def _run_varlen(g: Grid, config, models, device, generator, compile: bool, emit,
                compile_mode: str | None = None) -> None:
    """Training on variable-length batches: padded SDPA (to the longest) vs unpadded."""
    from .unpadded import compile_model, compile_unpadded, unpadded_forward

    try:
        sst2 = sst2_lengths()
    except FileNotFoundError:
        sst2 = None
    ours = models[("bertedu", "sdpa")]
    compiled = compiled_unpadded = None
    for B, max_len, source in g.varlen:
        lengths, padding = varlen_lengths(B, max_len, source, generator, sst2)
        T = max(lengths)
        batch = _to(padded_batch(lengths, T, config.vocab_size, generator), device)
        keys = [k for k in models if k[1] == "sdpa"]
        opts = {k: make_optimizer(models[k]) for k in keys}
        for k in keys:
            models[k].train()
        steps = {k: _train_step(models[k], opts[k], batch) for k in keys}
        extra = {k: models[k] for k in keys}
        variants = {"unpadded": _unpadded_train_step(
            ours, opts[("bertedu", "sdpa")], batch,
            lambda ids, mask, tt, labels: unpadded_forward(ours, ids, mask, tt, labels,
                                                           pad_logits=False))}
        if compile:
            if compiled is None:  # dynamic shapes: one compilation serves every batch shape
                compiled = compile_model(ours, dynamic=True, mode=compile_mode)
                compiled_unpadded = compile_unpadded(ours, pad_logits=False, mode=compile_mode)
            suffix = "+compile" if compile_mode is None else f"+compile({compile_mode})"
            variants["sdpa" + suffix] = _train_step(compiled, opts[("bertedu", "sdpa")], batch)
            variants["unpadded" + suffix] = _unpadded_train_step(
                ours, opts[("bertedu", "sdpa")], batch, compiled_unpadded)
        for name, step in variants.items():
            try:  # a failing optional path (e.g. no compiler toolchain) drops that row only
                step()
            except Exception as err:  # noqa: BLE001 - reported, and the other rows go on
                print(f"varlen-train: bertedu {name} failed and is left out: "
                      f"{type(err).__name__}: {err}", file=sys.stderr)
                continue
            steps[("bertedu", name)] = step
            extra[("bertedu", name)] = ours
            opts[("bertedu", name)] = opts[("bertedu", "sdpa")]
        emit("varlen-train", steps, batch, lengths, padding, extra_models=extra, opts=opts)


def _check_unpadded(model, batch) -> None:
    """The unpadded forward must match the padded one at the real tokens before it is timed."""
    from .unpadded import unpadded_forward

    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    atol, rtol = TOLERANCES[dtype]
    real = batch["attention_mask"].bool()  # (B, T)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        ref = model.bert(input_ids=batch["input_ids"],
                         attention_mask=batch["attention_mask"]).last_hidden_state
        out = unpadded_forward(model.bert, batch["input_ids"], batch["attention_mask"])
    model.train(was_training)
    torch.testing.assert_close(out.last_hidden_state[real].float(), ref[real].float(),
                               atol=atol, rtol=rtol,
                               msg=lambda m: f"unpadded and padded forward differ: {m}")


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


# ------------------------------------------------------------------------------- reporting


def write_csv(rows: list[dict[str, Any]], path: str | os.PathLike,
              columns: tuple[str, ...] = COLUMNS) -> Path:
    """Write rows with the header ``columns`` (default :data:`COLUMNS`; parent folders are
    created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def read_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a results CSV back, converting numeric and boolean columns."""
    ints = {"threads", "batch", "seq", "real_tokens", "reps", "warmup", "calls"}
    rows = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            row: dict[str, Any] = {}
            for key, value in raw.items():
                if value in ("True", "False"):
                    row[key] = value == "True"
                elif key in ints:
                    row[key] = int(value)
                else:
                    try:
                        row[key] = float(value) if value != "" and key not in (
                            "torch_version", "transformers_version") else value
                    except ValueError:
                        row[key] = value
            rows.append(row)
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ratios per grid point, the seed's way: ``speedup % = (t_eager / t_sdpa - 1) * 100``,
    ``memory saving % = (m_eager / m_sdpa - 1) * 100``; ``transformers / bertedu`` time ratio of
    the same implementation; for variable-length rows each implementation's throughput over
    transformers' SDPA.
    """
    index = {(r["benchmark"], r["library"], r["implementation"], r["batch"], r["seq"]): r
             for r in rows}
    out = []
    for (bench, lib, impl, B, T), r in index.items():
        entry: dict[str, Any] = {"benchmark": bench, "library": lib, "implementation": impl,
                                 "batch": B, "seq": T}
        if bench == "varlen-train":
            ref = index.get((bench, "transformers", "sdpa", B, T))
            if ref is None:
                ref = index.get((bench, "bertedu", "sdpa", B, T))
            entry["throughput_vs_ref"] = r["tokens_per_s"] / ref["tokens_per_s"] if ref else ""
            entry["mfu"] = r.get("mfu", "")
            out.append(entry)
            continue
        if impl != "sdpa":
            continue
        eager = index.get((bench, lib, "eager", B, T))
        if eager is not None:
            entry["speedup_pct"] = 100 * (eager["time_median_s"] / r["time_median_s"] - 1)
            entry["mem_saving_pct"] = 100 * (eager["peak_mem_mb"] / r["peak_mem_mb"] - 1)
        if lib == "bertedu":
            for other in ("eager", "sdpa"):
                theirs = index.get((bench, "transformers", other, B, T))
                ours = index.get((bench, "bertedu", other, B, T))
                if theirs and ours:
                    entry[f"transformers_over_bertedu_{other}"] = (
                        theirs["time_median_s"] / ours["time_median_s"])
        out.append(entry)
    return out


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the rows and of :func:`summarize`."""
    head = (f"{'benchmark':<13}{'library':<13}{'impl':<17}{'B':>4}{'T':>5}"
            f"{'median ms':>11}{'IQR ms':>16}{'MiB':>9}{'tok/s':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        iqr = f"{1e3 * r['time_q1_s']:.2f}-{1e3 * r['time_q3_s']:.2f}"
        lines.append(f"{r['benchmark']:<13}{r['library']:<13}{r['implementation']:<17}"
                     f"{r['batch']:>4}{r['seq']:>5}{1e3 * r['time_median_s']:>11.2f}{iqr:>16}"
                     f"{r['peak_mem_mb']:>9.1f}{r['tokens_per_s']:>11.0f}")
    lines += ["", "ratios (speedup % and memory saving % as in the seed: eager/sdpa - 1)"]
    for s in summarize(rows):
        parts = [f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in s.items()
                 if k not in ("benchmark", "library", "implementation", "batch", "seq")
                 and v != ""]
        lines.append(f"  {s['benchmark']:<13}{s['library']:<13}{s['implementation']:<17}"
                     f"B={s['batch']:<4}T={s['seq']:<5}" + "  ".join(parts))
    return "\n".join(lines)


def default_csv_name(rows: list[dict[str, Any]]) -> str:
    """``<grid>_<dtype>_<device slug>.csv`` for the rows of one run."""
    r = rows[0]
    slug = "".join(c if c.isalnum() else "-" for c in r["device_name"].lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"{r['grid']}_{r['dtype']}_{slug[:40]}.csv"


def cli(argv: list[str] | None = None) -> int:
    """``python -m bertedu bench``: run a grid, print a table, write the CSV."""
    parser = argparse.ArgumentParser(
        prog="python -m bertedu bench",
        description="Time eager vs SDPA attention (and bertedu vs transformers, padded vs "
                    "unpadded) on random-weight BERT models and write the results as CSV.")
    parser.add_argument("--grid", choices=tuple(GRIDS), default="cpu-quick",
                        help="which experiment: cpu-quick (tiny model, seconds, for CI), cpu "
                             "(mini model, minutes), gpu-train / gpu-infer (the seed's training "
                             "or inference grid on bert-base), gpu-varlen (variable-length "
                             "training: padded vs unpadded), gpu (all three). Default: cpu-quick")
    parser.add_argument("--dtype", default=None,
                        help="float32 or bfloat16 on CPU (default float32); float16, bfloat16 or "
                             "float32 on CUDA (default float16, as the seed)")
    parser.add_argument("--out", default="results/",
                        help="CSV destination: a folder (the file is named "
                             "<grid>_<dtype>_<device>.csv) or a path ending in .csv. "
                             "Default: results/")
    parser.add_argument("--compare-transformers", action="store_true",
                        help="also time transformers' eager and SDPA BertForMaskedLM loaded from "
                             "the same weights (needs transformers installed)")
    parser.add_argument("--reps", type=int, default=None,
                        help="timed repetitions per implementation (default: the grid's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's current setting)")
    parser.add_argument("--compile", action="store_true",
                        help="add torch.compile variants (padded SDPA and unpadded) to the "
                             "variable-length grid")
    parser.add_argument("--compile-mode", default=None,
                        help="torch.compile mode for --compile (default: torch's default; e.g. "
                             "reduce-overhead for CUDA graphs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and inputs")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing the grid, profile one training step at its "
                             "largest point operator by operator and write "
                             "profile_<dtype>_<device>.csv")
    args = parser.parse_args(argv)
    if args.profile:
        try:
            rows = profile_grid(args.grid, args.dtype, args.compare_transformers, seed=args.seed)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        out = Path(args.out)
        name = "profile_" + default_csv_name([dict(rows[0], grid="x")]).split("_", 1)[1]
        path = write_csv(rows, out if out.suffix == ".csv" else out / name, PROFILE_COLUMNS)
        print(f"wrote {len(rows)} rows to {path}")
        return 0
    out = Path(args.out)

    def destination(rows: list[dict[str, Any]]) -> Path:
        name = default_csv_name(rows)
        if args.compile:  # a compiled run never overwrites the plain run's file
            name = name.replace(".csv", f"_compile-{args.compile_mode or 'default'}.csv")
        return out if out.suffix == ".csv" else out / name

    try:
        rows = run_grid(args.grid, args.dtype, args.compare_transformers, args.reps,
                        args.threads, args.compile, args.seed, compile_mode=args.compile_mode,
                        on_rows=lambda rows: write_csv(rows, destination(rows)))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_table(rows))
    path = write_csv(rows, destination(rows))
    print(f"\nwrote {len(rows)} rows to {path}")
    return 0


__all__ = [
    "COLUMNS", "GRIDS", "PEAK_TFLOPS", "PROFILE_COLUMNS", "TOLERANCES", "Grid",
    "TensorMemoryTracker", "check_dtype", "cli", "format_table", "lognormal_lengths",
    "matmul_params", "measure_peak_memory", "model_flops", "padded_batch", "peak_flops",
    "profile_grid", "read_csv", "run_grid", "spread", "sst2_lengths", "summarize",
    "time_alternating", "make_optimizer", "uniform_lengths", "varlen_lengths", "write_csv",
]
