"""Token classification (WNUT-17 named entities): one tag per word, predicted from its pieces.

The data gives one BIO tag per *word*; the model sees *word pieces*. The tokenizer is called with
``is_split_into_words=True`` and ``word_ids()`` says which word each piece came from
(``None`` for [CLS], [SEP] and padding). The labels are aligned to the pieces:

- the first piece of a word gets the word's tag; the other pieces get ``-100``, so each word is
  counted once in the loss (the paper's choice, section 5.3);
- with ``label_all_pieces=True`` every piece gets its word's tag, a ``B-`` tag becoming ``I-`` on
  the later pieces (so one word never opens two entities); a run picks it with
  ``finetune("wnut_17", ..., label_all_pieces=True)`` or ``--label-all-pieces``;
- special tokens always get ``-100``.

The loss is the cross-entropy over the labelled pieces, ``L = -mean_{t: y_t != -100} log p_t(y_t)``.
At prediction time each word takes the tag of its first piece, so the output has exactly one tag
per input word and is scored entity by entity (:func:`bertedu.finetuning.metrics.entity_scores`).
Words that truncation cut off are tagged ``O``. :func:`tag_words` does the same for raw text (a
tweet split on white space, or a list of words) and returns tag names.

References:
    Devlin et al., 2019, "BERT", section 5.3 (feature-based and fine-tuned NER: "we use the
    representation of the first sub-token as the input to the token-level classifier").
    Derczynski et al., 2017, WNUT-17.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .batching import sorted_batches
from .classification import check_columns
from .metrics import entity_scores

__all__ = ["align_labels", "b_to_i_map", "encode", "loss_fn", "predict_words", "tag_words",
           "evaluate"]


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int],
                 label_all_pieces: bool = False,
                 b_to_i: dict[int, int] | None = None) -> list[int]:
    """Piece labels (T,) from word labels: first piece tagged, later pieces -100 (or tagged, with
    ``B-`` mapped to ``I-`` through ``b_to_i``), special tokens -100."""
    labels, previous = [], None
    for word in word_ids:
        if word is None:
            labels.append(-100)
        elif word != previous:
            labels.append(word_labels[word])
        elif label_all_pieces:
            label = word_labels[word]
            labels.append((b_to_i or {}).get(label, label))
        else:
            labels.append(-100)
        previous = word
    return labels


def b_to_i_map(names: Sequence[str]) -> dict[int, int]:
    """Label id of each ``B-X`` -> label id of ``I-X`` (for tags on a word's later pieces)."""
    index = {name: i for i, name in enumerate(names)}
    return {i: index["I-" + n[2:]] for i, n in enumerate(names)
            if n.startswith("B-") and "I-" + n[2:] in index}


def encode(tokenizer, dataset: Any, num_labels: int, label_names: Sequence[str] | None = None,
           max_length: int = 128, label_all_pieces: bool = False,
           task: str = "wnut_17") -> tuple[list[dict[str, Any]], list[list[int | None]]]:
    """Features with aligned ``labels`` (T,) per sentence, and each sentence's ``word_ids``."""
    check_columns(dataset, ("tokens", "ner_tags"), task)
    words, tags = list(dataset["tokens"]), list(dataset["ner_tags"])
    for row, sentence in enumerate(tags):
        for label in sentence:
            if not isinstance(label, int) or not 0 <= label < num_labels:
                raise ValueError(f"{task}: row {row} has tag {label!r}, outside "
                                 f"0..{num_labels - 1}")
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    b_to_i = b_to_i_map(label_names) if label_all_pieces and label_names else None
    features, word_ids = [], []
    for i in range(len(words)):
        ids = enc.word_ids(i)
        word_ids.append(ids)
        features.append({"input_ids": enc["input_ids"][i],
                         "token_type_ids": enc["token_type_ids"][i],
                         "attention_mask": enc["attention_mask"][i],
                         "labels": align_labels(ids, tags[i], label_all_pieces, b_to_i)})
    return features, word_ids


def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]):
    """Cross-entropy over the labelled pieces (``labels != -100``) of (B, T, num_labels)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   token_type_ids=batch["token_type_ids"]).logits  # (B, T, L)
    return F.cross_entropy(logits.float().flatten(0, 1), batch["labels"].flatten(),
                           ignore_index=-100), {}


@torch.no_grad()
def predict_words(model: nn.Module, features: Sequence[dict[str, Any]],
                  word_ids: Sequence[Sequence[int | None]], n_words: Sequence[int],
                  batch_size: int = 64, device: str | torch.device = "cpu") -> list[list[int]]:
    """One predicted label id per word of each sentence: the argmax of its first piece."""
    was_training = model.training
    model.eval()
    out: list[list[int]] = [[] for _ in features]
    for idx, batch in sorted_batches(features, batch_size, model.config.pad_token_id or 0):
        logits = model(input_ids=batch["input_ids"].to(device),
                       attention_mask=batch["attention_mask"].to(device),
                       token_type_ids=batch["token_type_ids"].to(device)).logits  # (b, T, L)
        best = logits.argmax(-1).cpu().tolist()  # (b, T)
        for row, i in enumerate(idx):
            tags = [0] * n_words[i]  # words lost to truncation: "O" (id 0)
            seen = set()
            for position, word in enumerate(word_ids[i]):
                if word is not None and word not in seen:
                    tags[word] = best[row][position]
                    seen.add(word)
            out[i] = tags
    model.train(was_training)
    return out


def tag_words(model: nn.Module, tokenizer, sentences: Sequence[str | Sequence[str]],
              max_length: int = 128, batch_size: int = 64,
              device: str | torch.device = "cpu") -> list[list[tuple[str, str]]]:
    """Tag raw text: each sentence (a ``str``, split on white space, or a list of words) becomes
    ``[(word, tag name), ...]``, one pair per word, the tag of the word's first piece.

    The names come from ``model.config.id2label``. Words without a piece (cut off by
    ``max_length``, or only characters the tokenizer drops) get the tag of id 0 (``O`` in IOB2
    label lists, where it comes first).
    """
    if isinstance(sentences, str):
        raise TypeError("tag_words takes a list of sentences; wrap a single text in a list")
    words = [s.split() if isinstance(s, str) else list(s) for s in sentences]
    for i, sentence in enumerate(words):
        if not sentence:
            raise ValueError(f"sentence {i} has no words to tag")
        bad = [w for w in sentence if not isinstance(w, str)]
        if bad:
            raise TypeError(f"sentence {i}: words must be str, got {type(bad[0]).__name__}")
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    features = [{k: enc[k][i] for k in ("input_ids", "token_type_ids", "attention_mask")}
                for i in range(len(words))]
    word_ids = [enc.word_ids(i) for i in range(len(words))]
    pred = predict_words(model, features, word_ids, [len(w) for w in words], batch_size, device)
    names = model.config.id2label
    return [[(w, names[t]) for w, t in zip(ws, ts, strict=True)]
            for ws, ts in zip(words, pred, strict=True)]


def evaluate(model: nn.Module, encoded: tuple, batch_size: int = 64,
             device: str | torch.device = "cpu") -> dict[str, float]:
    """Entity precision / recall / F1 (percent, overall and per type) and word accuracy.

    ``encoded`` is ``(features, word_ids, gold word tags, label names)``.
    """
    features, word_ids, gold, names = encoded
    pred = predict_words(model, features, word_ids, [len(g) for g in gold], batch_size, device)
    true_tags = [[names[t] for t in sentence] for sentence in gold]
    pred_tags = [[names[t] for t in sentence] for sentence in pred]
    scores = entity_scores(true_tags, pred_tags)
    result = {"precision": 100 * scores["overall"]["precision"],
              "recall": 100 * scores["overall"]["recall"], "f1": 100 * scores["overall"]["f1"]}
    for type_, s in scores.items():
        if type_ != "overall":
            result[f"{type_}_f1"] = 100 * s["f1"]
    words = sum(len(g) for g in gold)
    result["word_accuracy"] = 100 * sum(p == t for gs, ps in zip(gold, pred, strict=True)
                                        for t, p in zip(gs, ps, strict=True)) / max(words, 1)
    return result
