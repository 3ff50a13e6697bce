"""Checkers for the chapters' exercises and for course assignments.

Each ``check_*`` function takes a student's implementation, runs it next to the library's on
seeded inputs, and raises ``AssertionError`` with a message that says what differs; it returns
``True`` when everything agrees. Sections follow the chapters.

The checkers live in one module per group of chapters: ``tokenization`` (chapter 2), ``model``
(chapters 3-6), ``heads`` (chapters 7-9), ``pretraining`` (chapters 10-11) and ``timing``
(chapter 12); every ``check_*`` function is importable from ``bertedu.testing`` itself.
"""

from __future__ import annotations

from .heads import check_causal_mask, check_mean_pooling, check_mlm_head, check_qa_loss
from .model import (
    check_attention,
    check_embeddings,
    check_layer,
    check_parameter_count,
    check_relative_scores,
)
from .pretraining import check_mask_tokens, check_truncate_seq_pair
from .timing import check_varlen_attention
from .tokenization import check_basic_tokenize, check_truncate_longest_first, check_wordpiece

__all__ = [
    "check_attention",
    "check_basic_tokenize",
    "check_causal_mask",
    "check_embeddings",
    "check_layer",
    "check_mask_tokens",
    "check_mean_pooling",
    "check_mlm_head",
    "check_parameter_count",
    "check_qa_loss",
    "check_relative_scores",
    "check_truncate_longest_first",
    "check_truncate_seq_pair",
    "check_varlen_attention",
    "check_wordpiece",
]
