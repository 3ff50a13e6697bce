"""Chapter 5 checkers: the relative-position term and the SDPA bias, right, wrong and cheating."""

from __future__ import annotations

import math

import torch

from bertedu.model.attention import extended_attention_mask
from bertedu.testing import check_relative_scores, check_sdpa_bias

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def _relative(attn, q, k, sign=1, key_term=True, offset=True):
    q_len, k_len = q.shape[2], k.shape[2]
    P = attn.max_position_embeddings
    first = k_len - q_len if offset else 0
    distance = torch.arange(first, first + q_len)[:, None] - torch.arange(k_len)[None, :]
    D = attn.distance_embedding.weight[sign * distance + P - 1]  # (T_q, T_k, d)
    scores = torch.einsum("bhld,lrd->bhlr", q, D)  # (B, A, T_q, T_k)
    if key_term and attn.position_embedding_type == "relative_key_query":
        scores = scores + torch.einsum("bhrd,lrd->bhlr", k, D)
    return scores


def test_check_relative_scores_grades_right_wrong_and_library_call():
    assert_full_marks(check_relative_scores, _relative)
    assert_rejected(check_relative_scores, lambda a, q, k: _relative(a, q, k, sign=-1),
                    r"\[visible\] relative_key: relative scores")
    assert_rejected(check_relative_scores, lambda a, q, k: _relative(a, q, k, key_term=False),
                    r"\[visible\] relative_key_query")
    assert_library_call_caught(check_relative_scores, lambda a, q, k: a.relative_scores(q, k),
                               "BertSelfAttention.relative_scores")


def test_check_relative_scores_edge_cases_catch_a_missing_cache_offset():
    result = assert_rejected(check_relative_scores,
                             lambda a, q, k: _relative(a, q, k, offset=False),
                             r"\[edge\] a cached step", groups=("visible", "edge"))
    assert [o.name for o in result.outcomes if not o.passed] == [
        "a cached step: 2 queries after 5 cached keys", "one query after 11 cached keys"]


def _bias(attn, q, k, mask, scale=True, use_mask=True):
    R = attn.relative_scores(q, k)  # (B, A, T, T)
    bias = R / math.sqrt(q.shape[-1]) if scale else R
    if use_mask:
        bias = bias.masked_fill(mask[:, None, None, :] == 0, torch.finfo(q.dtype).min)
    return bias


def test_check_sdpa_bias_grades_right_wrong_and_library_call():
    assert_full_marks(check_sdpa_bias, _bias)
    assert_rejected(check_sdpa_bias, lambda a, q, k, m: _bias(a, q, k, m, scale=False),
                    r"SDPA with your bias vs eager \(relative_key, lengths \[6, 4\]\)")
    assert_rejected(check_sdpa_bias, lambda a, q, k, m: _bias(a, q, k, m, use_mask=False),
                    r"\[visible\] relative_key_query, padded")
    assert_rejected(check_sdpa_bias, lambda a, q, k, m: m, "expected a float tensor")

    def cheat(attn, q, k, mask):
        B, _, T, d = q.shape
        additive = extended_attention_mask(mask, B, T, T, q.dtype)  # None without padding
        bias = attn.relative_scores(q, k) / math.sqrt(d)
        return bias if additive is None else bias + additive

    assert_library_call_caught(check_sdpa_bias, cheat, "attention.extended_attention_mask")
