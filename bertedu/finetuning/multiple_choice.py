"""Multiple choice (CommonsenseQA): one score per (question, choice) pair, softmax over choices.

Each of the ``C`` choices is paired with the question and encoded on its own,
``[CLS] question [SEP] choice_c [SEP]``; the batch is ``(B, C, T)``. The model folds it to
``(B*C, T)``, runs the encoder, maps each pooled [CLS] vector to one number ``s_c = w . h_c``,
and unfolds the scores to ``(B, C)``; training is a C-way cross-entropy,

$$ P(c \\mid q) = \\frac{\\exp s_c}{\\sum_{c'} \\exp s_{c'}}, \\qquad
   L = -\\log P(c^* \\mid q). $$

So the same ``w`` scores every choice: the model learns "how good an answer is this", not "which
letter". CommonsenseQA gives no passage, only the question and five choices (labelled A-E).

References:
    Devlin et al., 2019, "BERT", section 4.4 (SWAG). Talmor et al., 2019, "CommonsenseQA",
    section 5 (the BERT baseline encodes question and choice as a pair).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import classification
from .classification import check_columns
from .metrics import accuracy

__all__ = ["pair_rows", "encode", "loss_fn", "predict", "evaluate"]

COLUMNS = ("question", "choices", "answerKey")


def pair_rows(questions: Sequence[str], choices: Sequence[dict[str, Sequence[str]]],
              task: str = "commonsense_qa") -> tuple[list[str], list[str], int]:
    """The ``B * C`` (question, choice) pairs, question-major: pair ``b * C + c`` is question
    ``b`` with its choice ``c``. Returns ``(firsts, seconds, C)``.

    Every question must have the same number ``C >= 1`` of choices, each with a label per text,
    so the pairs fold back into ``(B, C)``.
    """
    if len(questions) != len(choices):
        raise ValueError(f"{task}: {len(questions)} questions but {len(choices)} choice lists")
    if not questions:
        raise ValueError(f"{task}: the split is empty (no questions to encode)")
    count = len(choices[0]["text"])
    for row, c in enumerate(choices):
        if len(c["text"]) != count:
            raise ValueError(f"{task}: row {row} has {len(c['text'])} choices, row 0 has {count}; "
                             f"every question needs the same number")
        if "label" in c and len(c["label"]) != len(c["text"]):
            raise ValueError(f"{task}: row {row} has {len(c['label'])} choice labels for "
                             f"{len(c['text'])} choice texts")
    if count == 0:
        raise ValueError(f"{task}: the questions have no choices")
    firsts = [q for q in questions for _ in range(count)]  # (B*C,): each question C times
    seconds = [t for c in choices for t in c["text"]]  # (B*C,): the choices, question by question
    return firsts, seconds, count


def encode(tokenizer, dataset: Any, max_length: int = 80, with_labels: bool = True,
           task: str = "commonsense_qa") -> list[dict[str, Any]]:
    """One example per question: ``input_ids`` etc. as C lists (one per choice), unpadded;
    ``labels`` the index of ``answerKey`` among the choice labels.

    Each pair is ``[CLS] question [SEP] choice [SEP]`` (segment ids 0 then 1), truncated to
    ``max_length`` pieces, the longer side first; :func:`~.batching.pad_batch` stacks a batch of
    these into ``(B, C, T)`` tensors.
    """
    check_columns(dataset, COLUMNS if with_labels else COLUMNS[:2], task)
    questions, choices = list(dataset["question"]), list(dataset["choices"])
    firsts, seconds, count = pair_rows(questions, choices, task)
    enc = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
    features = []
    for i in range(len(questions)):
        rows = slice(i * count, (i + 1) * count)
        features.append({key: enc[key][rows]
                         for key in ("input_ids", "token_type_ids", "attention_mask")})
    if with_labels:
        for i, (feature, c, key) in enumerate(zip(features, choices, list(dataset["answerKey"]),
                                                  strict=True)):
            if key not in c["label"]:
                raise ValueError(f"{task}: row {i} has answerKey {key!r}, not one of its choice "
                                 f"labels {c['label']}")
            feature["labels"] = c["label"].index(key)
    return features


def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]):
    """C-way cross-entropy of the choice scores (B, C) at ``batch["labels"]`` (B,): the same
    computation as the classification loss, over choices instead of classes."""
    return classification.loss_fn(model, batch)


def predict(model: nn.Module, features: Sequence[dict[str, Any]], batch_size: int = 32,
            device: str | torch.device = "cpu") -> torch.Tensor:
    """Choice scores (N, C) of every question, in the order of ``features``."""
    return classification.predict(model, features, batch_size, device)


def evaluate(model: nn.Module, features: Sequence[dict[str, Any]], batch_size: int = 32,
             device: str | torch.device = "cpu") -> dict[str, float]:
    """Accuracy (percent) and mean loss over the questions."""
    if not features:
        raise ValueError("multiple choice: no questions to evaluate (the split is empty)")
    logits = predict(model, features, batch_size, device)  # (N, C)
    labels = torch.tensor([f["labels"] for f in features])  # (N,)
    return {"accuracy": 100 * accuracy(labels.tolist(), logits.argmax(-1).tolist()),
            "loss": float(F.cross_entropy(logits, labels))}
