"""Sentence and sentence-pair classification (SST-2): [CLS] -> pooler -> linear -> softmax.

A text ``x`` (or a pair ``x1, x2``) is encoded as ``[CLS] x [SEP]`` (``[CLS] x1 [SEP] x2 [SEP]``,
segment ids 0 then 1). The encoder's final state of [CLS] goes through the pretrained pooler,
``h = tanh(W_p h_CLS + b_p)``, and a new linear layer gives class scores; training minimises

$$ L = -\\frac{1}{B} \\sum_i \\log \\mathrm{softmax}(W h^{(i)} + b)_{y_i} $$

over every weight, the encoder's included. The paper's recipe: 2-4 epochs, batch 32, learning
rate in {5e-5, 3e-5, 2e-5}, 10% warmup then linear decay, dropout 0.1.

Examples are encoded without padding; :mod:`bertedu.finetuning.batching` pads each batch to its
own longest example and groups examples of similar length.

References:
    Devlin et al., 2019, "BERT", section 4.1 (GLUE) and figure 4 (a)-(b); appendix A.3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .batching import sorted_batches
from .metrics import accuracy, f1, matthews_corrcoef

__all__ = ["check_columns", "check_labels", "encode", "loss_fn", "predict", "evaluate"]


def check_columns(dataset: Any, needed: Sequence[str], task: str) -> None:
    """Raise ``ValueError`` naming the task and the first column ``dataset`` lacks."""
    have = list(dataset.column_names)
    for column in needed:
        if column not in have:
            raise ValueError(f"{task}: the dataset has no column {column!r} "
                             f"(it has: {', '.join(have)}); {task} needs {', '.join(needed)}")


def check_labels(labels: Sequence[int], num_labels: int, task: str) -> None:
    """Raise ``ValueError`` for the first label outside ``[0, num_labels)`` (row and value)."""
    for row, label in enumerate(labels):
        if not isinstance(label, int) or not 0 <= label < num_labels:
            raise ValueError(f"{task}: row {row} has label {label!r}, outside 0..{num_labels - 1}")


def encode(tokenizer, dataset: Any, text_column: str = "sentence", pair_column: str | None = None,
           label_column: str | None = "label", num_labels: int = 2, max_length: int = 128,
           task: str = "sst2") -> list[dict[str, Any]]:
    """Tokenize every row, unpadded, truncated to ``max_length`` pieces.

    Returns one dict per row with ``input_ids, token_type_ids, attention_mask`` (lists) and,
    with a ``label_column``, ``labels`` (an int, checked to lie in ``[0, num_labels)``).
    """
    needed = [text_column] + ([pair_column] if pair_column else [])
    needed += [label_column] if label_column else []
    check_columns(dataset, needed, task)
    texts = list(dataset[text_column])
    pairs = list(dataset[pair_column]) if pair_column else None
    enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
    features = [{"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                 "attention_mask": enc["attention_mask"][i]} for i in range(len(texts))]
    if label_column:
        labels = list(dataset[label_column])
        check_labels(labels, num_labels, task)
        for feature, label in zip(features, labels, strict=True):
            feature["labels"] = label
    return features


def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]):
    """Cross-entropy of the class scores (B, num_labels) at ``batch["labels"]`` (B,)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   token_type_ids=batch["token_type_ids"]).logits  # (B, num_labels)
    return F.cross_entropy(logits.float(), batch["labels"]), {}


@torch.no_grad()
def predict(model: nn.Module, features: Sequence[dict[str, Any]], batch_size: int = 64,
            device: str | torch.device = "cpu") -> torch.Tensor:
    """Class scores (N, num_labels) of every example, in the order of ``features``."""
    was_training = model.training
    model.eval()
    out = None
    for idx, batch in sorted_batches(features, batch_size, model.config.pad_token_id or 0):
        logits = model(input_ids=batch["input_ids"].to(device),
                       attention_mask=batch["attention_mask"].to(device),
                       token_type_ids=batch["token_type_ids"].to(device)).logits  # (b, L)
        if out is None:
            out = torch.empty(len(features), logits.shape[-1])
        out[idx] = logits.float().cpu()
    model.train(was_training)
    return out


def evaluate(model: nn.Module, features: Sequence[dict[str, Any]], batch_size: int = 64,
             device: str | torch.device = "cpu") -> dict[str, float]:
    """Accuracy, F1 (of class 1) and MCC, in percent, and the mean loss."""
    logits = predict(model, features, batch_size, device)  # (N, L)
    labels = torch.tensor([f["labels"] for f in features])  # (N,)
    pred = logits.argmax(-1).tolist()
    gold = labels.tolist()
    scores = {"accuracy": 100 * accuracy(gold, pred),
              "matthews_corrcoef": 100 * matthews_corrcoef(gold, pred),
              "loss": float(F.cross_entropy(logits, labels))}
    if logits.shape[-1] == 2:
        scores["f1"] = 100 * f1(gold, pred)
    return scores
