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

__all__ = ["encode", "loss_fn", "predict", "evaluate"]

COLUMNS = ("question", "choices", "answerKey")


def encode(tokenizer, dataset: Any, max_length: int = 80, with_labels: bool = True,
           task: str = "commonsense_qa") -> list[dict[str, Any]]:
    """One example per question: ``input_ids`` etc. as C lists (one per choice), unpadded;
    ``labels`` the index of ``answerKey`` among the choice labels."""
    check_columns(dataset, COLUMNS if with_labels else COLUMNS[:2], task)
    questions, choices = list(dataset["question"]), list(dataset["choices"])
    n_choices = {len(c["text"]) for c in choices}
    if len(n_choices) != 1:
        raise ValueError(f"{task}: questions have different numbers of choices {sorted(n_choices)}")
    (count,) = n_choices
    firsts = [q for q in questions for _ in range(count)]
    seconds = [t for c in choices for t in c["text"]]
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
    logits = predict(model, features, batch_size, device)  # (N, C)
    labels = torch.tensor([f["labels"] for f in features])  # (N,)
    return {"accuracy": 100 * accuracy(labels.tolist(), logits.argmax(-1).tolist()),
            "loss": float(F.cross_entropy(logits, labels))}
