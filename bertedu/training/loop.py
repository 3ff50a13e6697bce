"""The pretraining loop: AdamW, warmup + linear decay, clipping, accumulation, AMP, exact resume.

BERT minimises the sum of its two losses, ``L = L_MLM + L_NSP``, with AdamW and a learning rate
that warms up linearly, then decays linearly to 0 (the optimizer and its schedule, with the
equations, are :mod:`bertedu.optimization`).

Around that core: gradient clipping to a maximum global norm; gradient accumulation (``grad_accum``
micro-batches summed before one optimizer step, so a large batch fits in small memory); mixed
precision on GPU (``bf16`` autocast, or ``fp16`` autocast with a loss scaler that keeps small
gradients from flushing to zero); a tqdm bar with loss and tokens/s; periodic evaluation (held-out
MLM loss and accuracy, NSP accuracy); checkpoints (:mod:`bertedu.checkpointing`).

Exact resume. Everything random is a function of ``(seed, step)`` or is saved: the examples of
micro-batch ``k`` are positions ``k*B ... k*B+B-1`` of a sample stream made of one seeded
permutation of the dataset per epoch; the masks of micro-batch ``k`` come from a generator seeded
with ``(seed, k)``; the dropout generator (torch's global RNG) is saved with the model, optimizer,
scheduler and scaler states. A run stopped at step ``k`` and resumed in a new process therefore
ends with the same weights, bit for bit on CPU, as a run that never stopped. Checkpoints hold only
tensors and plain Python values, so ``torch.load(..., weights_only=True)`` reads them.

The command line ``python -m bertedu pretrain`` is :mod:`bertedu.pretrain_cli`; its ``cli`` and
``build_parser`` are also reachable from here.

References:
    Devlin et al., 2019, "BERT", appendix A.2 (Adam, lr 1e-4, warmup 10k steps, linear decay,
    weight decay 0.01). Micikevicius et al., 2018, "Mixed Precision Training" (loss scaling).
    Liu et al., 2019, "RoBERTa", section 3.1 (large batches, longer training).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .checkpointing import (  # noqa: F401  (_rng_state, _set_rng_state: re-exported)
    _check_resumable,
    _config_dict,
    _rng_state,
    _set_rng_state,
    load_checkpoint,
    save_checkpoint,
)
from .masking import DataCollatorForLanguageModeling
from .optimization import linear_warmup_decay, make_optimizer, param_groups

__all__ = [
    "PretrainingArguments",
    "param_groups",
    "linear_warmup_decay",
    "make_optimizer",
    "micro_batch_indices",
    "evaluate",
    "pretrain",
    "save_checkpoint",
    "load_checkpoint",
    "cli",  # noqa: F822  (from bertedu.pretrain_cli, through __getattr__ below)
]

_MIX = 1_000_003  # mixes (seed, counter) pairs into distinct generator seeds


@dataclasses.dataclass
class PretrainingArguments:
    """Hyper-parameters of :func:`pretrain` (the CLI flags of the same names).

    ``batch_size`` is the micro-batch (one forward pass); an optimizer step sees
    ``batch_size * grad_accum`` examples. ``warmup`` is a number of optimizer steps.
    ``eval_every``/``save_every``: every that many steps (0 = only at the end / never).
    ``stop_after``: stop this run after that many steps in total (a time-boxed run to resume).
    """

    steps: int = 1000
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 5e-4
    warmup: int = 100
    weight_decay: float = 0.01
    clip: float = 1.0
    eval_every: int = 0
    save_every: int = 0
    stop_after: int | None = None
    seed: int = 0
    precision: str = "fp32"
    device: str = "cpu"
    mlm_probability: float = 0.15
    whole_word_mask: bool = False
    eval_batches: int = 8
    output_dir: str | None = None
    progress: bool = True

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError("steps, batch_size and grad_accum must be >= 1")
        if not 0 <= self.warmup <= self.steps:
            raise ValueError(f"warmup={self.warmup} must be in [0, steps={self.steps}]")
        if self.precision not in {"fp32", "bf16", "fp16"}:
            raise ValueError(f"precision must be fp32, bf16 or fp16, got {self.precision!r}")
        if self.precision == "fp16" and not str(self.device).startswith("cuda"):
            raise ValueError("precision='fp16' needs a CUDA device (use bf16 or fp32 on CPU)")


# ----------------------------------------------------------------------- data order
def micro_batch_indices(micro_step: int, batch_size: int, n: int, seed: int) -> list[int]:
    """Dataset indices of micro-batch ``micro_step``: a pure function of its arguments.

    The sample stream is epoch 0's permutation, then epoch 1's, ... each drawn from a generator
    seeded with ``(seed, epoch)``; micro-batch ``k`` takes stream positions ``[k*B, (k+1)*B)``.
    """
    out = []
    for pos in range(micro_step * batch_size, (micro_step + 1) * batch_size):
        epoch, offset = divmod(pos, n)
        out.append(int(_epoch_permutation(n, seed, epoch)[offset]))
    return out


_PERM_CACHE: dict[tuple[int, int, int], torch.Tensor] = {}


def _epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    key = (n, seed, epoch)
    if key not in _PERM_CACHE:
        if len(_PERM_CACHE) > 4:
            _PERM_CACHE.clear()
        g = torch.Generator().manual_seed(seed * _MIX + epoch)
        _PERM_CACHE[key] = torch.randperm(n, generator=g)  # (n,)
    return _PERM_CACHE[key]


def _micro_batch(dataset, collator, micro_step: int, args: PretrainingArguments) -> dict:
    idx = micro_batch_indices(micro_step, args.batch_size, len(dataset), args.seed)
    collator.generator = torch.Generator().manual_seed((args.seed + 1) * _MIX + micro_step)
    return collator([dataset[i] for i in idx])


# ----------------------------------------------------------------------- losses and evaluation
def _autocast(args: PretrainingArguments):
    if args.precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float16
    return torch.autocast(device_type=torch.device(args.device).type, dtype=dtype)


def _losses(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[Any, ...]:
    """(total, mlm, nsp, mlm_logits (M, V), nsp_logits (B, 2) or None) for a batch.

    Like the original implementation, the MLM head runs only on the ``M`` picked positions
    (``labels != -100``, about 15% of the tokens), not on all ``B*T``: the vocabulary projection
    is the largest matrix product of a small BERT, and the other positions have no loss. The
    result equals the loss of the full ``model(..., labels=...)``. ``nsp`` is 0 for a model
    without an NSP head (``BertForMaskedLM``).
    """
    out = model.bert(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        token_type_ids=batch.get("token_type_ids"),
    )
    labels = batch["labels"]  # (B, T)
    picked = labels != -100  # (B, T)
    heads = model.cls
    mlm_logits = heads.predictions(out.last_hidden_state[picked])  # (M, V)
    if picked.any():
        mlm = F.cross_entropy(mlm_logits.float(), labels[picked])
    else:  # nothing picked in this (tiny) batch: a zero loss that keeps the graph
        mlm = mlm_logits.float().sum() * 0.0
    nsp = mlm.new_zeros(())
    nsp_logits = None
    if hasattr(heads, "seq_relationship") and "next_sentence_label" in batch:
        nsp_logits = heads.seq_relationship(out.pooler_output)  # (B, 2)
        nsp = F.cross_entropy(nsp_logits.float(), batch["next_sentence_label"])
    return mlm + nsp, mlm, nsp, mlm_logits, nsp_logits


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset,
    collator: DataCollatorForLanguageModeling,
    batch_size: int = 32,
    max_batches: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """Held-out MLM loss and accuracy (over masked tokens) and NSP accuracy.

    The masks are drawn from a generator seeded with ``seed``, so repeated evaluations of
    different models see the same masked positions. The model's train/eval mode is restored.
    """
    was_training = model.training
    model.eval()
    saved_generator = collator.generator
    collator.generator = torch.Generator().manual_seed(seed)
    n_batches = math.ceil(len(dataset) / batch_size)
    if max_batches is not None:
        n_batches = min(n_batches, max_batches)
    mlm_sum = correct = masked = nsp_correct = nsp_total = 0.0
    for b in range(n_batches):
        rows = [dataset[i] for i in range(b * batch_size, min(len(dataset), (b + 1) * batch_size))]
        batch = {k: v.to(device) for k, v in collator(rows).items()}
        _, mlm, _, logits, seq = _losses(model, batch)  # logits: (M, V)
        targets = batch["labels"][batch["labels"] != -100]  # (M,)
        mlm_sum += float(mlm) * len(targets)
        correct += int((logits.argmax(-1) == targets).sum())
        masked += len(targets)
        if seq is not None and "next_sentence_label" in batch:
            nsp_correct += int((seq.argmax(-1) == batch["next_sentence_label"]).sum())
            nsp_total += len(rows)
    collator.generator = saved_generator
    model.train(was_training)
    return {
        "mlm_loss": mlm_sum / max(masked, 1),
        "mlm_accuracy": correct / max(masked, 1),
        "nsp_accuracy": nsp_correct / nsp_total if nsp_total else float("nan"),
    }


# ----------------------------------------------------------------------- the loop
def pretrain(
    model: nn.Module,
    tokenizer,
    train_dataset,
    args: PretrainingArguments,
    eval_dataset=None,
    resume_from: str | os.PathLike | None = None,
) -> list[dict[str, float]]:
    """Pretrain ``model`` (``BertForPreTraining`` or ``BertForMaskedLM``: a ``.bert`` encoder and
    ``.cls`` heads, the transformers layout) and return the history.

    ``train_dataset[i]`` is a dict for the collator (e.g. :class:`bertedu.nsp.NspDataset`).
    History: one dict per optimizer step with ``step, loss, mlm_loss, nsp_loss, lr, tokens_per_s``
    (+ ``eval_mlm_loss, eval_mlm_accuracy, eval_nsp_accuracy`` at evaluation steps). With
    ``args.output_dir``, checkpoints go to ``<output_dir>/checkpoints/step-XXXXXX.pt``.
    """
    device = torch.device(args.device)
    model.to(device).train()
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=args.mlm_probability, whole_word_mask=args.whole_word_mask
    )
    eval_collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=args.mlm_probability, whole_word_mask=args.whole_word_mask
    )
    optimizer, scheduler = make_optimizer(
        model, args.lr, args.weight_decay, args.warmup, args.steps
    )
    scaler = torch.amp.GradScaler(device.type, enabled=args.precision == "fp16")
    history: list[dict[str, float]] = []
    start = 0
    if resume_from is not None:
        state = load_checkpoint(resume_from)
        _check_resumable(state, model, args, resume_from)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"])
        start, history = state["step"], list(state["history"])

    def checkpoint(step: int) -> None:
        if args.output_dir is None:
            return
        save_checkpoint(Path(args.output_dir) / "checkpoints" / f"step-{step:06d}.pt", {
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "rng": _rng_state(),
            "config": _config_dict(model),
            "args": dataclasses.asdict(args),
            "history": history,
        })

    end = args.steps if args.stop_after is None else min(args.steps, args.stop_after)
    bar = None
    if args.progress:
        from tqdm.auto import tqdm

        # mininterval: at most two redraws a second, so a notebook front end is not flooded
        bar = tqdm(total=args.steps, initial=start, desc="pretrain", dynamic_ncols=True,
                   mininterval=0.5)
    for step in range(start, end):
        t0 = time.perf_counter()
        tokens = 0
        sums = torch.zeros(3)
        for micro in range(args.grad_accum):
            batch = _micro_batch(train_dataset, collator, step * args.grad_accum + micro, args)
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with _autocast(args):
                loss, mlm, nsp, _, _ = _losses(model, batch)
            scaler.scale(loss / args.grad_accum).backward()
            sums += torch.stack([loss.detach(), mlm.detach(), nsp.detach()]).float().cpu()
            tokens += int(batch["attention_mask"].sum())
        scaler.unscale_(optimizer)
        if args.clip and args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        lr = optimizer.param_groups[0]["lr"]
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - t0
        loss_v, mlm_v, nsp_v = (sums / args.grad_accum).tolist()
        record = {"step": step + 1, "loss": loss_v, "mlm_loss": mlm_v, "nsp_loss": nsp_v,
                  "lr": lr, "tokens_per_s": tokens / max(elapsed, 1e-9)}
        done = step + 1
        if eval_dataset is not None and (
            (args.eval_every and done % args.eval_every == 0) or done == args.steps
        ):
            metrics = evaluate(model, eval_dataset, eval_collator, args.batch_size,
                               args.eval_batches, seed=args.seed, device=device)
            record.update({f"eval_{k}": v for k, v in metrics.items()})
        history.append(record)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_v:.3f}", tok_s=f"{record['tokens_per_s']:.0f}",
                            refresh=False)
        if (args.save_every and done % args.save_every == 0) or done == end:
            checkpoint(done)
    if bar is not None:
        bar.close()
    return history


def __getattr__(name: str) -> Any:
    """``cli`` and ``build_parser`` live in :mod:`bertedu.pretrain_cli`, which imports this
    module; they are looked up here on first use (PEP 562), so ``bertedu.training.cli`` (what
    ``python -m bertedu pretrain`` calls) keeps working without an import cycle."""
    if name in {"cli", "build_parser"}:
        from . import pretrain_cli

        return getattr(pretrain_cli, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
