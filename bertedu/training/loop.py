"""The one training loop: AdamW, warmup + linear decay, clipping, accumulation, AMP, exact resume.

Every model in the book is trained by :func:`train`: pretraining (Part III) and fine-tuning
(Part IV) differ only in the batches they feed it and the loss they compute, which they pass in as
two functions. The loop owns everything else:

- the optimizer step: AdamW with decoupled weight decay and a learning rate that warms up
  linearly, then decays linearly to 0 (equations in :mod:`bertedu.training.optimization`);
- gradient accumulation: ``grad_accum`` micro-batches, each loss divided by ``grad_accum``, summed
  before one optimizer step, so ``L = (1/K) sum_k L_k`` is the loss of the large batch;
- gradient clipping to a maximum global norm ``||g||_2 <= clip``;
- mixed precision on GPU (``bf16`` autocast, or ``fp16`` autocast with a loss scaler that keeps
  small gradients from flushing to zero);
- a tqdm bar with the loss and tokens/s, an evaluation hook, periodic checkpoints
  (:mod:`bertedu.training.checkpointing`).

Exact resume. Everything random is a function of ``(seed, step)`` or is saved: micro-batch ``k``
is built by the caller from ``k`` alone (:func:`micro_batch_indices` gives a seeded epoch order),
and the dropout generator (torch's global RNG) is saved with the model, optimizer, scheduler and
scaler states. A run stopped at step ``k`` and resumed in a new process therefore ends with the
same weights, bit for bit on CPU, as a run that never stopped.

References:
    Devlin et al., 2019, "BERT", appendix A.2 (Adam, lr 1e-4, warmup 10k steps, linear decay,
    weight decay 0.01) and section 4 (fine-tuning). Micikevicius et al., 2018, "Mixed Precision
    Training" (loss scaling). Liu et al., 2019, "RoBERTa", section 3.1 (large batches).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .checkpointing import (
    _check_resumable,
    _config_dict,
    _rng_state,
    _set_rng_state,
    load_checkpoint,
    save_checkpoint,
)
from .distributed import Distributed
from .optimization import make_optimizer

__all__ = ["TrainingArguments", "micro_batch_indices", "autocast", "train"]

MIX = 1_000_003  # mixes (seed, counter) pairs into distinct generator seeds

# loss_fn(model, batch) -> (loss to minimise, {name: a part of it to log})
LossFn = Callable[[nn.Module, dict], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclasses.dataclass
class TrainingArguments:
    """Hyper-parameters of :func:`train`.

    ``batch_size`` is the micro-batch (one forward pass); an optimizer step sees
    ``batch_size * grad_accum`` examples. ``warmup`` is a number of optimizer steps.
    ``eval_every``/``save_every``: every that many steps (0 = only at the end / never).
    ``stop_after``: stop this run after that many steps in total (a run to resume later).
    ``max_seconds``: a wall-clock budget for this run; the loop finishes the step during which the
    budget ran out, saves a checkpoint as for ``stop_after`` and stops. Whichever of ``steps``,
    ``stop_after`` and ``max_seconds`` comes first ends the run, and the last history record's
    ``stop_reason`` names it.
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
    max_seconds: float | None = None
    seed: int = 0
    precision: str = "fp32"
    device: str = "cpu"
    output_dir: str | None = None
    progress: bool = True

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError("steps, batch_size and grad_accum must be >= 1")
        if self.stop_after is not None and self.stop_after < 1:
            raise ValueError(f"stop_after={self.stop_after} must be >= 1 (or None)")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds={self.max_seconds} must be > 0 (or None)")
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
        g = torch.Generator().manual_seed(seed * MIX + epoch)
        _PERM_CACHE[key] = torch.randperm(n, generator=g)  # (n,)
    return _PERM_CACHE[key]


def autocast(args: TrainingArguments):
    """The autocast context of ``args.precision`` (a no-op in fp32)."""
    if args.precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float16
    return torch.autocast(device_type=torch.device(args.device).type, dtype=dtype)


# ----------------------------------------------------------------------- the loop
def train(
    model: nn.Module,
    args: TrainingArguments,
    micro_batch: Callable[[int], dict[str, torch.Tensor]],
    loss_fn: LossFn,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    resume_from: str | os.PathLike | None = None,
    desc: str = "train",
    dist: Distributed | None = None,
) -> list[dict[str, float | str]]:
    """Train ``model`` for ``args.steps`` optimizer steps and return the history.

    ``micro_batch(k)`` returns micro-batch ``k`` (a dict of CPU tensors with an
    ``attention_mask``); it must depend on ``k`` alone for resume to be exact. ``loss_fn(model,
    batch)`` returns the loss and a dict of named parts to log. ``evaluate(model)`` returns
    metrics, logged with an ``eval_`` prefix every ``args.eval_every`` steps and at the last step
    of the run (whichever limit ended it).
    History: one dict per optimizer step with ``step, loss, <parts>, lr, tokens_per_s``; the last
    record of this run also has ``stop_reason``: ``"steps"`` (all ``args.steps`` done),
    ``"stop_after"`` or ``"max_seconds"``. With ``args.output_dir``, checkpoints go to
    ``<output_dir>/checkpoints/step-XXXXXX.pt``.

    Data parallel (``dist``, default: the process group this process joined, see
    :mod:`bertedu.training.distributed`): ``micro_batch(k)`` returns this rank's share of
    micro-batch ``k`` and ``loss_fn`` this rank's share of its loss (the shares sum to the loss of
    the whole micro-batch); the model runs inside ``DistributedDataParallel`` with ``no_sync``
    during accumulation; the logged figures are summed over ranks; rank 0 alone shows the bar,
    evaluates and writes checkpoints, and its history is the run's.
    """
    dist = dist if dist is not None else Distributed.current()
    device = torch.device(args.device)
    model.to(device).train()
    step_module: nn.Module = _LossModule(model, loss_fn)
    if dist.active:
        from torch.nn.parallel import DistributedDataParallel

        step_module = DistributedDataParallel(
            step_module, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer, scheduler = make_optimizer(
        model, args.lr, args.weight_decay, args.warmup, args.steps
    )
    scaler = torch.amp.GradScaler(device.type, enabled=args.precision == "fp16")
    history: list[dict[str, float | str]] = []
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
        if args.output_dir is None or not dist.is_main:
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
    if args.progress and dist.is_main:
        from tqdm.auto import tqdm

        # mininterval: at most two redraws a second, so a notebook front end is not flooded
        bar = tqdm(total=args.steps, initial=start, desc=desc, dynamic_ncols=True,
                   mininterval=0.5)
    run_start = time.perf_counter()
    for step in range(start, end):
        t0 = time.perf_counter()
        tokens = 0
        names: list[str] = []
        sums = None
        for micro in range(args.grad_accum):
            batch = micro_batch(step * args.grad_accum + micro)
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            last = micro == args.grad_accum - 1
            sync = contextlib.nullcontext() if last or not dist.active else step_module.no_sync()
            with sync:
                with autocast(args):
                    loss, parts = step_module(batch)
                # DDP averages gradients over ranks; the shares must be summed, hence * W
                scaler.scale(loss * dist.world_size / args.grad_accum).backward()
            names = list(parts)
            values = torch.stack([loss.detach()] + [p.detach() for p in parts.values()])
            values = values.float()
            sums = values if sums is None else sums + values
            tokens += int(batch["attention_mask"].sum())
        sums = dist.sum(torch.cat([sums, sums.new_tensor([tokens])])).cpu()
        sums, tokens = sums[:-1], int(sums[-1])
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
        loss_v, *part_v = (sums / args.grad_accum).tolist()
        record = {"step": step + 1, "loss": loss_v, **dict(zip(names, part_v, strict=True)),
                  "lr": lr, "tokens_per_s": tokens / max(elapsed, 1e-9)}
        done = step + 1
        out_of_time = dist.agree(args.max_seconds is not None and done < end
                                 and time.perf_counter() - run_start >= args.max_seconds)
        if out_of_time:
            record["stop_reason"] = "max_seconds"
        elif done == end:
            record["stop_reason"] = "steps" if done == args.steps else "stop_after"
        if evaluate is not None and dist.is_main and (
            (args.eval_every and done % args.eval_every == 0) or "stop_reason" in record
        ):
            record.update({f"eval_{k}": v for k, v in evaluate(model).items()})
        history.append(record)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_v:.3f}", tok_s=f"{record['tokens_per_s']:.0f}",
                            refresh=False)
        if (args.save_every and done % args.save_every == 0) or "stop_reason" in record:
            checkpoint(done)
        if out_of_time:
            break
    if bar is not None:
        bar.close()
    dist.barrier()  # nobody leaves before rank 0 has written its last checkpoint
    return history


class _LossModule(nn.Module):
    """``loss_fn(model, batch)`` as a module's forward, so that ``DistributedDataParallel`` can
    wrap the whole step (DDP prepares its gradient all-reduce in its own ``forward``)."""

    def __init__(self, model: nn.Module, loss_fn: LossFn):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, batch: dict[str, torch.Tensor]):
        return self.loss_fn(self.model, batch)
