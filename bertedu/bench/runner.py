"""Running a grid: identical models, the agreement checks, alternating timed steps, one row each.

Every implementation loads the same checkpoint; nothing is timed until eager and SDPA (and
bertedu and transformers, and the unpadded path) agree on a probe batch. Steps alternate
A B C, C B A, ...; each row holds the median and quartiles, the allocator's (or the CPU
tracker's) peak memory, real tokens per second and the MFU.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..config import BertConfig
from .measure import (
    measure_peak_memory,
    model_flops,
    model_state_bytes,
    peak_flops,
    spread,
    time_alternating,
)
from .workload import (
    GRIDS,
    TOLERANCES,
    Grid,
    check_dtype,
    padded_batch,
    sst2_lengths,
    uniform_lengths,
    varlen_lengths,
)

# ------------------------------------------------------------------------------- models


def _transformers_version() -> str:
    """The installed transformers version from its metadata, without importing it ("" if
    absent): a run that does not race transformers must not load it."""
    try:
        return importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        return ""


def build_models(config: BertConfig, device: torch.device, dtype: torch.dtype,
                 compare_transformers: bool, seed: int = 0) -> dict[tuple[str, str], Any]:
    """Masked-LM models with identical random weights: ``{(library, impl): model}``.

    bertedu's eager model is saved with ``save_pretrained`` and every other model loads that
    checkpoint (transformers through its own ``from_pretrained``), so all share the weights.
    """
    from ..model.modeling import BertForMaskedLM

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


def tolerance_used(actual: torch.Tensor, expected: torch.Tensor, atol: float,
                   rtol: float) -> tuple[float, float]:
    """``(max |a - b|, max |a - b| / (atol + rtol |b|))`` over all elements.

    The second number is the fraction of ``torch.testing.assert_close``'s tolerance that the
    worst element uses: the two tensors agree exactly when it is at most 1.
    """
    diff = (actual.float() - expected.float()).abs()  # same shape as the inputs
    bound = atol + rtol * expected.float().abs()
    return diff.max().item(), (diff / bound).max().item()


def _agreement(models: dict[tuple[str, str], Any], batch: dict[str, torch.Tensor],
               dtype: str) -> dict[str, Any]:
    """Measure eager vs SDPA (each library) and bertedu vs transformers; raise if they differ.

    Returns the agreement columns of a row: the tolerances, the largest difference, the fraction
    of the tolerance used (see :func:`tolerance_used`) and the verdicts computed from them.
    """
    atol, rtol = TOLERANCES[dtype]
    real = batch["attention_mask"].bool()  # (B, T)
    outs = {}
    with torch.inference_mode():
        for key, model in models.items():
            model.eval()
            hidden = model.bert(input_ids=batch["input_ids"],
                                attention_mask=batch["attention_mask"]).last_hidden_state
            outs[key] = hidden[real].float()  # (N, H)
    diff = used = 0.0
    for lib in sorted({lib for lib, _ in models}):
        lib_diff, lib_used = tolerance_used(outs[(lib, "sdpa")], outs[(lib, "eager")], atol, rtol)
        diff, used = max(diff, lib_diff), max(used, lib_used)
        if not lib_used <= 1:
            raise AssertionError(f"{lib}: eager and SDPA differ: max |diff| {lib_diff:.3g} uses "
                                 f"{lib_used:.3g}x the tolerance (atol {atol}, rtol {rtol})")
    result: dict[str, Any] = {"atol": atol, "rtol": rtol, "eager_sdpa_max_abs_diff": diff,
                              "eager_sdpa_tol_used": used, "eager_sdpa_agree": used <= 1,
                              "transformers_max_abs_diff": "", "transformers_tol_used": "",
                              "transformers_agree": ""}
    if ("transformers", "sdpa") in outs:
        lib_diff, lib_used = tolerance_used(outs[("bertedu", "sdpa")],
                                            outs[("transformers", "sdpa")], atol, rtol)
        if not lib_used <= 1:
            raise AssertionError(f"bertedu and transformers differ: max |diff| {lib_diff:.3g} "
                                 f"uses {lib_used:.3g}x the tolerance (atol {atol}, rtol {rtol})")
        result.update(transformers_max_abs_diff=lib_diff, transformers_tol_used=lib_used,
                      transformers_agree=lib_used <= 1)
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
    from ..model.unpadded import compile_model, compile_unpadded, unpadded_forward

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
    from ..model.unpadded import unpadded_forward

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
