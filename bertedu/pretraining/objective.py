"""The pretraining objective: what Part III adds to the shared training loop.

BERT minimises the sum of its two losses, ``L = L_MLM + L_NSP``: the cross-entropy of the masked
tokens (``labels != -100``, about 15% of the positions; :mod:`bertedu.pretraining.masking`) and
the cross-entropy of the IsNext / NotNext label of each sentence pair
(:mod:`bertedu.pretraining.nsp`). :func:`pretrain` feeds micro-batches of NSP pairs, masked afresh
by a seeded collator, to :func:`bertedu.training.train`, with :func:`pretraining_losses` as the
loss and the held-out MLM/NSP accuracy of :func:`evaluate` as the evaluation hook.

The command line ``python -m bertedu pretrain`` is :mod:`bertedu.pretraining.cli`.

References:
    Devlin et al., 2019, "BERT", section 3.1 (tasks #1 and #2) and appendix A.2 (the schedule).
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..training.distributed import Distributed
from ..training.loop import MIX, TrainingArguments, micro_batch_indices, train
from .masking import DataCollatorForLanguageModeling

__all__ = ["PretrainingArguments", "pretraining_losses", "evaluate", "pretrain"]


@dataclasses.dataclass
class PretrainingArguments(TrainingArguments):
    """:class:`bertedu.training.TrainingArguments` plus the masking options and the number of
    held-out batches evaluated (the CLI flags of the same names). The run's limits are the
    loop's: ``steps``, ``stop_after`` and the wall-clock budget ``max_seconds``."""

    mlm_probability: float = 0.15
    whole_word_mask: bool = False
    eval_batches: int = 8


def pretraining_losses(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[Any, ...]:
    """(total, mlm, nsp, mlm_logits (M, V), nsp_logits (B, 2) or None) for a batch.

    Like the original implementation, the MLM head runs only on the ``M`` picked positions
    (``labels != -100``, about 15% of the tokens), not on all ``B*T``: the vocabulary projection
    is the largest matrix product of a small BERT, and the other positions have no loss. The
    result equals the loss of the full ``model(..., labels=...)``. ``nsp`` is 0 for a model
    without an NSP head (``BertForMaskedLM``).

    A batch that is one rank's share of a larger one (data parallelism) carries the larger
    batch's counts, ``mlm_normalizer`` (picked positions) and ``nsp_normalizer`` (pairs): the
    losses are then sums divided by those counts, this rank's share of the whole batch's means.
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
    if "mlm_normalizer" in batch:
        mlm = F.cross_entropy(mlm_logits.float(), labels[picked], reduction="sum")
        mlm = mlm / batch["mlm_normalizer"].clamp_min(1)
    elif picked.any():
        mlm = F.cross_entropy(mlm_logits.float(), labels[picked])
    else:  # nothing picked in this (tiny) batch: a zero loss that keeps the graph
        mlm = mlm_logits.float().sum() * 0.0
    nsp = mlm.new_zeros(())
    nsp_logits = None
    if hasattr(heads, "seq_relationship") and "next_sentence_label" in batch:
        nsp_logits = heads.seq_relationship(out.pooler_output)  # (B, 2)
        if "nsp_normalizer" in batch:
            nsp = F.cross_entropy(nsp_logits.float(), batch["next_sentence_label"],
                                  reduction="sum") / batch["nsp_normalizer"]
        else:
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
        _, mlm, _, logits, seq = pretraining_losses(model, batch)  # logits: (M, V)
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


def pretrain(
    model: nn.Module,
    tokenizer,
    train_dataset,
    args: PretrainingArguments,
    eval_dataset=None,
    resume_from: str | os.PathLike | None = None,
) -> list[dict[str, float | str]]:
    """Pretrain ``model`` (``BertForPreTraining`` or ``BertForMaskedLM``: a ``.bert`` encoder and
    ``.cls`` heads, the transformers layout) with :func:`bertedu.training.train`.

    ``train_dataset[i]`` is a dict for the collator (e.g. :class:`bertedu.pretraining.NspDataset`).
    The masks of micro-batch ``k`` come from a generator seeded with ``(seed, k)``, so they too
    are a function of the step. History: one dict per optimizer step with ``step, loss, mlm_loss,
    nsp_loss, lr, tokens_per_s`` (+ ``eval_mlm_loss, eval_mlm_accuracy, eval_nsp_accuracy`` at
    evaluation steps); the last record has ``stop_reason`` (``"steps"``, ``"stop_after"`` or
    ``"max_seconds"``). With ``args.max_seconds`` the run ends after the step during which the
    budget ran out, evaluated (when ``eval_dataset`` is given) and checkpointed like a last step.

    Under ``torchrun`` (a process group is initialised) ``args.batch_size`` is the global
    micro-batch: every rank draws and masks the same global micro-batch, so the masks do not
    depend on the number of processes, and runs the model on its own contiguous block of rows;
    losses and updates equal a single process with the same global batch.
    """
    dist = Distributed.current()
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=args.mlm_probability, whole_word_mask=args.whole_word_mask
    )
    eval_collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=args.mlm_probability, whole_word_mask=args.whole_word_mask
    )

    def micro_batch(k: int) -> dict[str, torch.Tensor]:
        idx = micro_batch_indices(k, args.batch_size, len(train_dataset), args.seed)
        collator.generator = torch.Generator().manual_seed((args.seed + 1) * MIX + k)
        batch = collator([train_dataset[i] for i in idx])
        if not dist.active:
            return batch
        rows = dist.shard(len(idx))
        share = {key: value[rows] for key, value in batch.items()}
        share["mlm_normalizer"] = (batch["labels"] != -100).sum()
        share["nsp_normalizer"] = torch.tensor(float(len(idx)))
        return share

    def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]):
        loss, mlm, nsp, _, _ = pretraining_losses(model, batch)
        return loss, {"mlm_loss": mlm, "nsp_loss": nsp}

    def evaluate_hook(model: nn.Module) -> dict[str, float]:
        return evaluate(model, eval_dataset, eval_collator, args.batch_size, args.eval_batches,
                        seed=args.seed, device=args.device)

    return train(model, args, micro_batch, loss_fn,
                 evaluate=evaluate_hook if eval_dataset is not None else None,
                 resume_from=resume_from, desc="pretrain", dist=dist)
