"""Extractive question answering (SQuAD v1.1): predict the answer's first and last piece.

Input: ``[CLS] question [SEP] context [SEP]``. A start vector ``S`` and an end vector ``E`` score
every piece, ``P_start(t) = softmax_t(S . h_t)`` and ``P_end(t) = softmax_t(E . h_t)``, and the
answer is the span ``(i, j)``, ``i <= j < i + max_answer_length``, of largest
``S . h_i + E . h_j``. Training minimises the mean cross-entropy at the true start and end.

Long contexts. A context longer than ``max_length`` (384) is cut into windows that overlap by
``doc_stride`` (128) pieces: the tokenizer's own ``truncation="only_second"``,
``return_overflowing_tokens=True`` and ``stride`` give one row per window,
``overflow_to_sample_mapping`` names its question, ``sequence_ids()`` marks the context pieces
and ``offset_mapping`` maps each piece to its characters in the context.

- Training labels: the gold answer's character span ``[a, a + len(text))`` is found in the
  window's offsets; a window that does not contain the whole answer points both positions at
  [CLS] (index 0), which teaches the model "not in this window". An answer whose ``answer_start``
  does not match its text in the context is never trained on: it is counted and reported.
- Decoding: per window the 20 best starts and the 20 best ends are combined (the ``n_best``
  candidates), impossible spans (outside the context, end before start, longer than
  ``max_answer_length`` = 30 pieces) are dropped, and the best span over all windows of a
  question is mapped back to context characters through the offsets.

References:
    Devlin et al., 2019, "BERT", section 4.2 and figure 4 (c); the released ``run_squad.py``
    (``max_seq_length`` 384, ``doc_stride`` 128, ``n_best_size`` 20, ``max_answer_length`` 30).
    Rajpurkar et al., 2016, "SQuAD".
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .batching import sorted_batches
from .classification import check_columns
from .metrics import squad_scores

__all__ = ["QAFeatures", "Candidate", "encode_windows", "answer_positions", "encode", "loss_fn",
           "predict_logits", "candidates", "decode", "evaluate"]

COLUMNS = ("id", "question", "context", "answers")


@dataclass
class QAFeatures:
    """Windows of a set of questions: model inputs, and what decoding needs to map back."""

    features: list[dict[str, Any]]
    example_index: list[int]  # (W,) the question of each window
    offsets: list[list[tuple[int, int] | None]]  # (W, T) context span of a piece, None elsewhere
    ids: list[str]
    contexts: list[str]
    answers: list[list[str]]
    skipped: list[str] = field(default_factory=list)  # ids whose answer_start is wrong


def encode_windows(tokenizer, questions: Sequence[str], contexts: Sequence[str],
                   max_length: int = 384, doc_stride: int = 128):
    """The tokenizer's overflowing windows of (question, context) pairs, with offsets."""
    return tokenizer([q.lstrip() for q in questions], list(contexts), truncation="only_second",
                     max_length=max_length, stride=doc_stride, return_overflowing_tokens=True,
                     return_offsets_mapping=True)


def answer_positions(offsets: Sequence[Sequence[int]], sequence_ids: Sequence[int | None],
                     start_char: int, end_char: int) -> tuple[int, int]:
    """(start, end) piece indices of the answer's characters ``[start_char, end_char)`` in one
    window; ``(0, 0)``, the ``[CLS]`` piece, when the window does not hold all of them.

    ``offsets`` (T, 2) is the window's ``offset_mapping`` and ``sequence_ids`` (T,) its
    ``sequence_ids()`` (1 marks the context). ``start`` is the last context piece beginning at or
    before ``start_char``, ``end`` the first one ending at or after ``end_char`` (so an answer
    that begins or ends inside a piece takes the whole piece), as transformers' ``run_qa.py``.
    """
    if len(offsets) != len(sequence_ids):
        raise ValueError(f"offsets has {len(offsets)} pieces but sequence_ids has "
                         f"{len(sequence_ids)}")
    if not 0 <= start_char < end_char:
        raise ValueError(f"the answer's characters [{start_char}, {end_char}) are empty or "
                         f"negative")
    context = [t for t, s in enumerate(sequence_ids) if s == 1]
    if not context:
        raise ValueError("the window holds no context piece (no sequence id 1)")
    first, last = context[0], context[-1]
    if offsets[first][0] > start_char or offsets[last][1] < end_char:
        return 0, 0
    start = first
    while start <= last and offsets[start][0] <= start_char:
        start += 1
    end = last
    while end >= first and offsets[end][1] >= end_char:
        end -= 1
    return start - 1, end + 1


def encode(tokenizer, dataset: Any, train: bool, max_length: int = 384, doc_stride: int = 128,
           task: str = "squad") -> QAFeatures:
    """Windows of every question; with ``train``, ``start_positions``/``end_positions`` from the
    first gold answer (questions whose answer does not match ``answer_start`` are left out and
    listed in ``skipped``, with a warning)."""
    check_columns(dataset, COLUMNS, task)
    ids, contexts = list(dataset["id"]), list(dataset["context"])
    questions, answers = list(dataset["question"]), list(dataset["answers"])
    skipped = []
    keep = list(range(len(ids)))
    if train:
        good = []
        for i in keep:
            texts, starts = answers[i]["text"], answers[i]["answer_start"]
            if not texts or contexts[i][starts[0]:starts[0] + len(texts[0])] != texts[0]:
                skipped.append(ids[i])
            else:
                good.append(i)
        keep = good
        if skipped:
            warnings.warn(f"{task}: {len(skipped)} of {len(ids)} questions have an answer whose "
                          f"answer_start does not match its text; they are not trained on "
                          f"(first: {skipped[:5]})", stacklevel=2)
    enc = encode_windows(tokenizer, [questions[i] for i in keep], [contexts[i] for i in keep],
                         max_length, doc_stride)
    features, example_index, offsets = [], [], []
    for w, sample in enumerate(enc["overflow_to_sample_mapping"]):
        i = keep[sample]
        seq = enc.sequence_ids(w)
        feature = {"input_ids": enc["input_ids"][w], "token_type_ids": enc["token_type_ids"][w],
                   "attention_mask": enc["attention_mask"][w]}
        if train:
            start_char = answers[i]["answer_start"][0]
            end_char = start_char + len(answers[i]["text"][0])
            feature["start_positions"], feature["end_positions"] = answer_positions(
                enc["offset_mapping"][w], seq, start_char, end_char)
        features.append(feature)
        example_index.append(i)
        offsets.append([tuple(o) if s == 1 else None
                        for o, s in zip(enc["offset_mapping"][w], seq, strict=True)])
    return QAFeatures(features, example_index, offsets, ids, contexts,
                      [list(a["text"]) for a in answers], skipped)


def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]):
    """Mean of the start and end cross-entropies over the window's pieces."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                token_type_ids=batch["token_type_ids"])
    start = F.cross_entropy(out.start_logits.float(), batch["start_positions"])  # over (B, T)
    end = F.cross_entropy(out.end_logits.float(), batch["end_positions"])
    return (start + end) / 2, {"start_loss": start, "end_loss": end}


@torch.no_grad()
def predict_logits(model: nn.Module, features: Sequence[dict[str, Any]], batch_size: int = 32,
                   device: str | torch.device = "cpu") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(start_logits (T_w,), end_logits (T_w,)) of every window, unpadded, in input order."""
    was_training = model.training
    model.eval()
    out: list = [None] * len(features)
    for idx, batch in sorted_batches(features, batch_size, model.config.pad_token_id or 0):
        res = model(input_ids=batch["input_ids"].to(device),
                    attention_mask=batch["attention_mask"].to(device),
                    token_type_ids=batch["token_type_ids"].to(device))
        for row, i in enumerate(idx):
            n = len(features[i]["input_ids"])
            out[i] = (res.start_logits[row, :n].float().cpu(),  # (T_w,)
                      res.end_logits[row, :n].float().cpu())
    model.train(was_training)
    return out


@dataclass(frozen=True)
class Candidate:
    """One possible answer: its score ``start_logit + end_logit``, text, window and pieces."""

    score: float
    text: str
    window: int
    start: int  # first piece, in the window
    end: int  # last piece, in the window
    start_char: int
    end_char: int


def candidates(windows: QAFeatures, logits: Sequence[tuple[torch.Tensor, torch.Tensor]],
               n_best: int = 20, max_answer_length: int = 30) -> dict[str, list[Candidate]]:
    """Every question's possible answers over all of its windows, best first.

    Per window the ``n_best`` highest start logits and the ``n_best`` highest end logits are
    paired; a pair is kept when both pieces are in the context and
    ``start <= end < start + max_answer_length``, and scores ``S . h_start + E . h_end``.
    ``logits`` holds (start_logits (T_w,), end_logits (T_w,)) per window of ``windows``.
    """
    if n_best < 1 or max_answer_length < 1:
        raise ValueError(f"n_best ({n_best}) and max_answer_length ({max_answer_length}) must "
                         f"be >= 1")
    if len(logits) != len(windows.features):
        raise ValueError(f"{len(logits)} logit pairs for {len(windows.features)} windows")
    found: dict[int, list[Candidate]] = {i: [] for i in dict.fromkeys(windows.example_index)}
    for w, (start_logits, end_logits) in enumerate(logits):
        i = windows.example_index[w]
        offsets = windows.offsets[w]
        if len(start_logits) != len(offsets) or len(end_logits) != len(offsets):
            raise ValueError(f"window {w} has {len(offsets)} pieces but {len(start_logits)} "
                             f"start and {len(end_logits)} end logits")
        starts = torch.argsort(start_logits, descending=True, stable=True)[:n_best].tolist()
        ends = torch.argsort(end_logits, descending=True, stable=True)[:n_best].tolist()
        for s in starts:
            for e in ends:
                if offsets[s] is None or offsets[e] is None or e < s:
                    continue
                if e - s + 1 > max_answer_length:
                    continue
                a, b = offsets[s][0], offsets[e][1]
                found[i].append(Candidate(float(start_logits[s] + end_logits[e]),
                                          windows.contexts[i][a:b], w, s, e, a, b))
    return {windows.ids[i]: sorted(c, key=lambda c: -c.score) for i, c in found.items()}


def decode(windows: QAFeatures, logits: Sequence[tuple[torch.Tensor, torch.Tensor]],
           n_best: int = 20, max_answer_length: int = 30) -> dict[str, str]:
    """The best answer text of each question over all of its windows (``""`` if none)."""
    return {qid: c[0].text if c else ""
            for qid, c in candidates(windows, logits, n_best, max_answer_length).items()}


def evaluate(model: nn.Module, windows: QAFeatures, batch_size: int = 32,
             device: str | torch.device = "cpu") -> dict[str, float]:
    """SQuAD v1.1 exact match and F1 (0-100) over the questions of ``windows``."""
    predictions = decode(windows, predict_logits(model, windows.features, batch_size, device))
    asked = dict.fromkeys(windows.example_index)
    references = {windows.ids[i]: windows.answers[i] for i in asked}
    return squad_scores(predictions, references)
