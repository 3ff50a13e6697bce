"""Extractive question answering: the answer is a span of the context, found token by token.

The question-answering head gives every token ``t`` a start logit ``s_t`` and an end logit
``e_t``. Within one input, ``P(start = i) = softmax(s)_i`` and ``P(end = j) = softmax(e)_j``
over the context tokens only (the question and padding are masked out), and a span scores

    score(i, j) = P(start = i) * P(end = j),      i <= j < i + max_answer_len

The best spans are mapped back to characters of the context with the fast tokenizer's offsets,
widened to whole words (``align_to_words``), and spans that give the same text are merged by
adding their scores.

**Long contexts.** BERT reads at most ``max_seq_len`` tokens, so a long context is cut into
overlapping windows ("doc stride", Devlin et al., Section 4.2): each window is
``[CLS] question [SEP] context[a:b] [SEP]`` with ``b - a = L`` context tokens,
``L = max_seq_len - len(question) - 3``, and consecutive windows start ``L - doc_stride`` tokens
apart, so that ``doc_stride`` tokens are shared and an answer near a cut is whole in one of
them. Windows are scored independently and their candidates ranked together.

**No answer.** With ``handle_impossible_answer=True`` the empty answer competes too, with the
score ``P(start = [CLS]) * P(end = [CLS])`` (the smallest over the windows), as in SQuAD 2.0.

References:
    Devlin et al., 2019, "BERT", Sections 4.2 and 4.3 (SQuAD v1.1 and v2.0).
    Rajpurkar et al., 2018, "Know What You Don't Know: Unanswerable Questions for SQuAD".
    Hugging Face transformers documentation, "QuestionAnsweringPipeline".
"""

from __future__ import annotations

from typing import Any

import torch

from ..model import BertForQuestionAnswering
from .base import Pipeline

MASKED_LOGIT = -10000.0  # logit of a token that cannot be part of the answer


class QuestionAnsweringPipeline(Pipeline):
    """``pipe(question="Who?", context="...", top_k=1, doc_stride=128, max_answer_len=15)``.

    Returns ``{"score", "start", "end", "answer"}`` (character offsets into the context), or a
    list of them for ``top_k > 1``; a list of questions and contexts gives a list of results.
    """

    task = "question-answering"
    model_class = BertForQuestionAnswering
    forward_outputs = ("start_logits", "end_logits")
    needs_offsets = True

    def split_parameters(
        self, top_k: int = 1, max_answer_len: int = 15, handle_impossible_answer: bool = False,
        max_seq_len: int | None = None, doc_stride: int | None = None,
        align_to_words: bool = True, **kwargs: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().split_parameters(**kwargs)
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if max_answer_len < 1:
            raise ValueError(f"max_answer_len must be >= 1, got {max_answer_len}")
        if max_seq_len is None:
            max_seq_len = min(self.tokenizer.model_max_length, 384)
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, 128)
        if doc_stride > max_seq_len:
            raise ValueError(
                f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len})"
            )
        return (
            {"max_seq_len": max_seq_len, "doc_stride": doc_stride},
            {"top_k": top_k, "max_answer_len": max_answer_len, "align_to_words": align_to_words,
             "handle_impossible_answer": handle_impossible_answer},
        )

    def windows(self, n_context: int, room: int, doc_stride: int) -> list[tuple[int, int]]:
        """``[(a, b), ...]`` context token ranges of ``room`` tokens, ``doc_stride`` shared."""
        if n_context <= room:
            return [(0, n_context)]
        if doc_stride >= room:
            raise ValueError(
                f"doc_stride={doc_stride} leaves no progress: each window holds only {room} "
                "context tokens; lower doc_stride or raise max_seq_len"
            )
        spans, start = [], 0
        while True:
            spans.append((start, min(start + room, n_context)))
            if start + room >= n_context:
                return spans
            start += room - doc_stride

    def preprocess(self, item: dict[str, str], max_seq_len: int = 384,
                   doc_stride: int = 128) -> list[dict[str, Any]]:
        question, context = item["question"], item["context"]
        for name, text in (("question", question), ("context", context)):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(
                    f"question-answering needs a non-empty {name} string, got {text!r}"
                )
        q_ids = self.tokenizer(question, add_special_tokens=False)["input_ids"]
        ctx = self.tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
        room = max_seq_len - len(q_ids) - 3  # [CLS] q [SEP] ... [SEP]
        if room < 1:
            raise ValueError(f"the question has {len(q_ids)} tokens: no room for the context in "
                             f"max_seq_len={max_seq_len}")
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        word_ids, offsets = ctx.word_ids(0), ctx["offset_mapping"]
        features = []
        for a, b in self.windows(len(ctx["input_ids"]), room, doc_stride):
            ids = [cls_id, *q_ids, sep_id, *ctx["input_ids"][a:b], sep_id]
            first = len(q_ids) + 2  # position of context token a in the window
            features.append({
                "input_ids": ids,
                "token_type_ids": [0] * first + [1] * (b - a + 1),
                "attention_mask": [1] * len(ids),
                "context": context, "first": first,
                "offsets": offsets[a:b], "word_ids": word_ids[a:b],
            })
        return features

    def spans(self, start_logits: torch.Tensor, end_logits: torch.Tensor, first: int, n: int,
              k: int, max_answer_len: int) -> tuple[list[tuple[int, int, float]], float]:
        """The ``k`` best ``(i, j, score)`` spans of context tokens ``first..first+n-1`` of one
        window (positions in the window), and the window's no-answer score."""
        allowed = torch.zeros_like(start_logits, dtype=torch.bool)  # (T,)
        allowed[0] = True  # [CLS]: the no-answer position
        allowed[first:first + n] = True
        p_start = start_logits.masked_fill(~allowed, MASKED_LOGIT).softmax(dim=-1)  # (T,)
        p_end = end_logits.masked_fill(~allowed, MASKED_LOGIT).softmax(dim=-1)  # (T,)
        null = (p_start[0] * p_end[0]).item()
        p_start, p_end = p_start[first:first + n], p_end[first:first + n]  # (n,)
        scores = p_start[:, None] * p_end[None, :]  # (n, n): row = start, column = end
        scores = scores.triu().tril(max_answer_len - 1)  # i <= j < i + max_answer_len
        flat = scores.flatten()
        values, picks = flat.topk(min(k, flat.numel()))
        return [(int(p) // n, int(p) % n, v) for v, p in zip(values.tolist(), picks.tolist(),
                                                            strict=True) if v > 0], null

    def postprocess(
        self, features: list[dict[str, Any]], rows: list[dict[str, torch.Tensor]],
        top_k: int = 1, max_answer_len: int = 15, handle_impossible_answer: bool = False,
        align_to_words: bool = True,
    ) -> dict[str, Any] | list[dict[str, Any]]:
        answers: dict[str, dict[str, Any]] = {}  # lower-cased answer text -> answer
        min_null = 1e6
        k = top_k * 2 + 10 if align_to_words else top_k  # spare candidates: words may merge
        for feature, row in zip(features, rows, strict=True):
            length = len(feature["input_ids"])
            found, null = self.spans(row["start_logits"][:length], row["end_logits"][:length],
                                     feature["first"], len(feature["offsets"]), k, max_answer_len)
            min_null = min(min_null, null)
            for i, j, score in found:
                start, end = self.characters(feature, i, j, align_to_words)
                text = feature["context"][start:end]
                if text.lower() in answers:
                    answers[text.lower()]["score"] += score
                else:
                    answers[text.lower()] = {"score": score, "start": start, "end": end,
                                             "answer": text}
        ranked = list(answers.values())
        if handle_impossible_answer:
            ranked.append({"score": min_null, "start": 0, "end": 0, "answer": ""})
        ranked = sorted(ranked, key=lambda a: a["score"], reverse=True)[:top_k]
        return ranked[0] if len(ranked) == 1 else ranked

    @staticmethod
    def characters(
        feature: dict[str, Any], i: int, j: int, align_to_words: bool
    ) -> tuple[int, int]:
        """Context tokens ``i..j`` of a window -> ``(start, end)`` characters of the context."""
        offsets, word_ids = feature["offsets"], feature["word_ids"]
        if not align_to_words:
            return offsets[i][0], offsets[j][1]
        start = min(o[0] for o, w in zip(offsets, word_ids, strict=True) if w == word_ids[i])
        end = max(o[1] for o, w in zip(offsets, word_ids, strict=True) if w == word_ids[j])
        return start, end

    def __call__(self, inputs: Any = None, question: Any = None, context: Any = None,
                 **kwargs: Any) -> Any:
        """``pipe(question=..., context=...)`` (strs or equal-length lists), or
        ``pipe({"question": ..., "context": ...})`` / a list of such dicts."""
        if inputs is None:
            if question is None or context is None:
                raise ValueError("question-answering needs both question= and context=")
            if isinstance(question, str) and isinstance(context, str):
                inputs = {"question": question, "context": context}
            else:
                if isinstance(question, str):
                    question = [question] * len(context)
                if len(question) != len(context):
                    raise ValueError(f"got {len(question)} questions for {len(context)} contexts")
                inputs = [{"question": q, "context": c} for q, c in zip(question, context,
                                                                        strict=True)]
        items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        for item in items:
            if not isinstance(item, dict) or set(item) != {"question", "context"}:
                raise ValueError(
                    f"each input must be {{'question': ..., 'context': ...}}, got {item!r}"
                )
        result = super().__call__(inputs, **kwargs)
        if isinstance(inputs, list) and len(inputs) == 1:
            return result[0]
        return result
