"""Checkers for the chapters' exercises and for course assignments.

Each ``check_*`` function takes a student's implementation and runs it next to the library's on
visible, edge and hidden (randomised, seeded per run) cases, plus a case that patches the library
module being rebuilt so a solution calling it is caught. It returns a ``CheckResult`` (cases
passed out of total, a message per failure, the seed) and by default raises ``AssertionError``
when a case fails; ``raise_on_failure=False`` returns the result for grading, and
``groups="visible"`` (or ``"edge"``, ``"hidden"``, ``"library"``) runs one group.

One module per part of the book: ``model`` (chapters 1, 3, 4, 6), ``tokenization`` (2),
``positions`` (5), ``heads`` (7-8), ``decoder`` (9), ``pretraining`` (10), ``optimization``
(11), ``timing`` (12), ``finetuning`` (13), ``alignment`` (14), ``qa`` (15), ``choice`` (16),
``distillation`` (17), ``export`` (18), ``after_bert`` (19) and ``scaling`` (20); the framework
is in ``result``.
Every checker is importable from ``bertedu.testing`` itself.
"""

from __future__ import annotations

from .after_bert import check_rtd_loss
from .alignment import check_label_alignment
from .choice import check_choice_logits
from .decoder import check_cache_update, check_causal_mask
from .distillation import check_distillation_loss
from .export import check_int8_linear
from .finetuning import check_classifier_logits
from .heads import check_mean_pooling, check_mlm_head, check_qa_loss
from .model import check_attention, check_embeddings, check_layer, check_parameter_count
from .optimization import check_lr_schedule, check_param_groups
from .positions import check_relative_scores, check_sdpa_bias
from .pretraining import check_mask_tokens, check_truncate_seq_pair
from .qa import check_answer_positions, check_doc_stride_windows, check_squad_f1
from .result import GROUPS, CaseOutcome, CheckResult, LibraryCallError
from .scaling import check_rank_losses
from .timing import check_varlen_attention
from .tokenization import check_basic_tokenize, check_truncate_longest_first, check_wordpiece

__all__ = [
    "check_classifier_logits",
    "check_rank_losses",
    "check_distillation_loss",
    "check_choice_logits",
    "check_answer_positions",
    "check_doc_stride_windows",
    "check_squad_f1",
    "check_label_alignment",
    "check_int8_linear",
    "GROUPS",
    "CaseOutcome",
    "CheckResult",
    "LibraryCallError",
    "check_attention",
    "check_basic_tokenize",
    "check_cache_update",
    "check_causal_mask",
    "check_embeddings",
    "check_layer",
    "check_lr_schedule",
    "check_mask_tokens",
    "check_mean_pooling",
    "check_mlm_head",
    "check_param_groups",
    "check_parameter_count",
    "check_qa_loss",
    "check_relative_scores",
    "check_rtd_loss",
    "check_sdpa_bias",
    "check_truncate_longest_first",
    "check_truncate_seq_pair",
    "check_varlen_attention",
    "check_wordpiece",
]
