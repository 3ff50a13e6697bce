"""The pretraining loop: AdamW, warmup + linear decay, clipping, accumulation, AMP, exact resume.

BERT minimises the sum of its two losses, ``L = L_MLM + L_NSP``, with AdamW: Adam whose weight
decay is applied to the weights directly instead of being added to the gradient,

$$ \\theta_t = \\theta_{t-1} - \\eta_t \\left( \\frac{\\hat m_t}{\\sqrt{\\hat v_t} + \\epsilon}
   + \\lambda \\theta_{t-1} \\right) $$

with no decay on biases and LayerNorm weights (shrinking a LayerNorm gain towards 0 is not a
regulariser, it is damage). The learning rate rises linearly from 0 during ``warmup`` steps, then
falls linearly to 0 at the last step: ``eta_t = eta * min(t / w, (T - t) / (T - w))``.

Around that core: gradient clipping to a maximum global norm; gradient accumulation (``grad_accum``
micro-batches summed before one optimizer step, so a large batch fits in small memory); mixed
precision on GPU (``bf16`` autocast, or ``fp16`` autocast with a loss scaler that keeps small
gradients from flushing to zero); a tqdm bar with loss and tokens/s; periodic evaluation (held-out
MLM loss and accuracy, NSP accuracy); checkpoints.

Exact resume. Everything random is a function of ``(seed, step)`` or is saved: the examples of
micro-batch ``k`` are positions ``k*B ... k*B+B-1`` of a sample stream made of one seeded
permutation of the dataset per epoch; the masks of micro-batch ``k`` come from a generator seeded
with ``(seed, k)``; the dropout generator (torch's global RNG) is saved with the model, optimizer,
scheduler and scaler states. A run stopped at step ``k`` and resumed in a new process therefore
ends with the same weights, bit for bit on CPU, as a run that never stopped. Checkpoints hold only
tensors and plain Python values, so ``torch.load(..., weights_only=True)`` reads them.

References:
    Devlin et al., 2019, "BERT", appendix A.2 (Adam, lr 1e-4, warmup 10k steps, linear decay,
    weight decay 0.01). Loshchilov & Hutter, 2019, "Decoupled Weight Decay Regularization".
    Micikevicius et al., 2018, "Mixed Precision Training" (loss scaling).
    Liu et al., 2019, "RoBERTa", section 3.1 (large batches, longer training).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .masking import DataCollatorForLanguageModeling

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
    "cli",
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


# ----------------------------------------------------------------------- optimizer and schedule
def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two AdamW groups: decayed weights, and biases + LayerNorm parameters without decay.

    Tied parameters (the MLM decoder and the word embeddings) appear once.
    """
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def linear_warmup_decay(warmup: int, total: int) -> Callable[[int], float]:
    """The LR multiplier at step ``t``: ``t/warmup`` while warming up, then linear to 0 at
    ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def make_optimizer(
    model: nn.Module, lr: float, weight_decay: float, warmup: int, total: int
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (betas 0.9/0.999, eps 1e-6 as in BERT) and its warmup + linear-decay scheduler."""
    optimizer = torch.optim.AdamW(
        param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.999), eps=1e-6
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_warmup_decay(warmup, total))
    return optimizer, scheduler


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


# ----------------------------------------------------------------------- checkpoints
def _rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as tensors and plain values (weights_only-safe)."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state((npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """``torch.save`` a training state, atomically (written to a temporary file, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`pretrain` with ``torch.load(weights_only=True)``."""
    return torch.load(path, map_location=map_location, weights_only=True)


def _config_dict(model: nn.Module) -> dict[str, Any]:
    config = getattr(model, "config", None)
    return json.loads(json.dumps(config.to_dict())) if config is not None else {}


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
        saved, current = state["config"], _config_dict(model)
        if saved != current:
            diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
            details = ", ".join(f"{k}: {saved.get(k)!r} != {current.get(k)!r}" for k in diff)
            raise ValueError(
                f"checkpoint {os.fspath(resume_from)!r} was saved for a different model config "
                f"(checkpoint vs model: {details})"
            )
        for key in ("seed", "batch_size", "grad_accum", "steps"):
            if state["args"][key] != getattr(args, key):
                raise ValueError(
                    f"cannot resume exactly: checkpoint has {key}={state['args'][key]!r}, "
                    f"this run has {key}={getattr(args, key)!r}"
                )
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


# ----------------------------------------------------------------------- command line
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bertedu pretrain",
        description="Pretrain a BERT from scratch with masked LM + next-sentence prediction, "
        "then write a transformers-compatible checkpoint (config.json, model.safetensors, "
        "vocab.txt) to --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument
    a("--config", default="tiny",
      help="model size: a preset name (tiny, mini, small, medium, base, large) or a config.json "
      "(its vocab_size is replaced by the size of the vocabulary used)")
    a("--vocab-size", type=int, default=4000,
      help="size of the WordPiece vocabulary trained on the corpus (ignored with --vocab)")
    a("--vocab", default=None, help="use this existing vocab.txt instead of training one")
    a("--corpus", nargs="+", default=None,
      help="text files, one sentence per line, blank line between documents "
      "(default: the embedded standard-library corpus)")
    a("--out", required=True, help="output directory (model, vocab, history.json, checkpoints)")
    a("--steps", type=int, default=1000, help="number of optimizer steps")
    a("--batch-size", type=int, default=32, help="examples per micro-batch (forward pass)")
    a("--seq-len", type=int, default=128, help="max_seq_length of the NSP sentence pairs")
    a("--lr", type=float, default=5e-4, help="peak learning rate of AdamW")
    a("--warmup", type=int, default=None,
      help="linear warmup steps (default: 10%% of --steps), then linear decay to 0")
    a("--weight-decay", type=float, default=0.01,
      help="AdamW decoupled weight decay (never on biases and LayerNorm)")
    a("--grad-accum", type=int, default=1,
      help="micro-batches accumulated per optimizer step (effective batch = batch-size x this)")
    a("--clip", type=float, default=1.0, help="max global gradient norm (0 disables clipping)")
    a("--eval-every", type=int, default=0,
      help="evaluate on held-out documents every N steps (0: only at the end)")
    a("--save-every", type=int, default=0,
      help="write a resumable checkpoint every N steps (0: only at the end)")
    a("--stop-after", type=int, default=None,
      help="stop this run after N steps in total and save a checkpoint (resume with --resume)")
    a("--resume", default=None, help="checkpoint (.pt) to resume from, exactly")
    a("--seed", type=int, default=0, help="seed of the data, masks, initialisation and dropout")
    a("--precision", choices=["fp32", "bf16", "fp16"], default="fp32",
      help="fp32, or mixed precision: bf16 autocast, fp16 autocast with loss scaling (CUDA)")
    a("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    a("--short-seq-prob", type=float, default=0.1,
      help="probability of a shorter random target length for an NSP pair")
    a("--dupe-factor", type=int, default=5,
      help="passes over the corpus with different NSP split points and partners")
    a("--whole-word-mask", action="store_true", help="mask whole words instead of WordPieces")
    a("--held-out", type=float, default=0.05,
      help="fraction of documents held out for evaluation")
    a("--no-progress", action="store_true", help="hide the tqdm progress bar")
    return p


def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m bertedu pretrain ...``: returns the exit code."""
    from .config import PRESETS, BertConfig
    from .corpus import default_corpus, load_text_corpus
    from .modeling import BertForPreTraining
    from .nsp import NspDataset
    from .tokenization_fast import BertTokenizerFast, train_wordpiece_vocab

    ns = build_parser().parse_args(argv)
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    device = ns.device or ("cuda" if torch.cuda.is_available() else "cpu")
    docs = load_text_corpus(ns.corpus) if ns.corpus else default_corpus()
    rng = random.Random(ns.seed)
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_eval = int(round(len(docs) * ns.held_out)) if len(docs) >= 4 else 0
    eval_docs = [docs[i] for i in order[:n_eval]]
    train_docs = [docs[i] for i in order[n_eval:]]

    vocab_file = ns.vocab
    if vocab_file is None and ns.resume and (out / "vocab.txt").exists():
        vocab_file = str(out / "vocab.txt")  # resume with the vocabulary of the first run
    if vocab_file is None:
        train_wordpiece_vocab([s for d in train_docs for s in d], vocab_size=ns.vocab_size,
                              save_to=out / "vocab.txt")
        vocab_file = str(out / "vocab.txt")
    tokenizer = BertTokenizerFast(vocab_file)

    if ns.config in PRESETS:
        config = BertConfig.preset(ns.config, vocab_size=len(tokenizer))
    else:
        # the embedding table must match the vocabulary actually used
        config = BertConfig.from_json_file(ns.config, vocab_size=len(tokenizer))
    if ns.seq_len > config.max_position_embeddings:
        raise ValueError(f"--seq-len {ns.seq_len} > max_position_embeddings "
                         f"{config.max_position_embeddings}")
    torch.manual_seed(ns.seed)
    model = BertForPreTraining(config)
    nsp_kwargs = {"max_seq_length": ns.seq_len, "short_seq_prob": ns.short_seq_prob}
    train = NspDataset.from_corpus(train_docs, tokenizer, dupe_factor=ns.dupe_factor,
                                   seed=ns.seed, **nsp_kwargs)
    held = None
    if len(eval_docs) >= 2 and any(len(d) >= 2 for d in eval_docs):
        held = NspDataset.from_corpus(eval_docs, tokenizer, seed=ns.seed + 1, **nsp_kwargs)
    args = PretrainingArguments(
        steps=ns.steps, batch_size=ns.batch_size, grad_accum=ns.grad_accum, lr=ns.lr,
        warmup=ns.warmup if ns.warmup is not None else ns.steps // 10,
        weight_decay=ns.weight_decay, clip=ns.clip, eval_every=ns.eval_every,
        save_every=ns.save_every, stop_after=ns.stop_after, seed=ns.seed,
        precision=ns.precision, device=device, whole_word_mask=ns.whole_word_mask,
        output_dir=str(out), progress=not ns.no_progress,
    )
    history = pretrain(model, tokenizer, train, args, eval_dataset=held, resume_from=ns.resume)
    (out / "history.json").write_text(json.dumps(history, indent=1))
    if history and history[-1]["step"] == ns.steps:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        last = history[-1]
        summary = f"step {last['step']}: loss {last['loss']:.4f}"
        if "eval_mlm_accuracy" in last:
            summary += f", held-out MLM accuracy {last['eval_mlm_accuracy']:.3f}"
        print(f"{summary}; model written to {out}")
    else:
        step = history[-1]["step"] if history else 0
        print(f"stopped at step {step}; resume with --resume "
              f"{out / 'checkpoints' / f'step-{step:06d}.pt'}")
    return 0
