"""Chapter 9 checkers: the causal mask with a cache and one cached attention step."""

from __future__ import annotations

import math

import torch

from bertedu.model.attention import extended_attention_mask
from bertedu.testing import check_cache_update, check_causal_mask

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def causal_mask(attention_mask, query_length, offset=True, padding=True):
    S = attention_mask.shape[1]
    first = S - query_length if offset else 0
    q = torch.arange(first, first + query_length)[:, None]  # (T, 1) absolute query positions
    allowed = (torch.arange(S)[None, :] <= q)[None, None]  # (1, 1, T, S)
    if padding:
        return allowed & attention_mask.bool()[:, None, None, :]  # (B, 1, T, S)
    return allowed.expand(attention_mask.shape[0], 1, query_length, S)


def test_check_causal_mask_grades_right_wrong_and_library_call():
    assert_full_marks(check_causal_mask, causal_mask)
    result = assert_rejected(check_causal_mask, lambda m, t: causal_mask(m, t, offset=False),
                             r"\[visible\] 3 cached keys, padded: allowed positions",
                             groups="visible")
    assert (result.passed, result.total) == (1, 2)  # right without a cache
    assert_rejected(check_causal_mask, lambda m, t: causal_mask(m, t, padding=False),
                    r"\[visible\] no cache, padded")

    def cheat(attention_mask, query_length):
        B, S = attention_mask.shape
        additive = extended_attention_mask(attention_mask, B, query_length, S, torch.float32,
                                           causal=True)
        return (additive == 0).expand(B, 1, query_length, S)  # (B, 1, T, S)

    assert_library_call_caught(check_causal_mask, cheat, "attention.extended_attention_mask")


def cached_step(attn, hidden, past, mask, new_first=False, causal=True):
    B, T, _ = hidden.shape
    A, d = attn.num_attention_heads, attn.attention_head_size

    def heads(x):
        return x.view(B, T, A, d).transpose(1, 2)  # (B, A, T, d)

    q, k, v = heads(attn.query(hidden)), heads(attn.key(hidden)), heads(attn.value(hidden))
    pair = (lambda new, old: (new, old)) if new_first else (lambda new, old: (old, new))
    k = torch.cat(pair(k, past[0]), dim=2)  # (B, A, S, d)
    v = torch.cat(pair(v, past[1]), dim=2)  # (B, A, S, d)
    S = k.shape[2]
    keep = mask.bool()[:, None, None, :]  # (B, 1, 1, S)
    if causal:
        keep = keep & (torch.arange(S)[None, :] <= torch.arange(S - T, S)[:, None])
    scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill(~keep, torch.finfo(q.dtype).min)
    context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, A * d)  # (B, T, H)
    return context, (k, v)


def test_check_cache_update_grades_right_wrong_and_library_call():
    assert_full_marks(check_cache_update, cached_step)
    assert_rejected(check_cache_update, lambda a, h, p, m: cached_step(a, h, p, m, new_first=True),
                    r"\[visible\] 4 cached, 3 new, padded: updated keys")
    result = assert_rejected(check_cache_update,
                             lambda a, h, p, m: cached_step(a, h, p, m, causal=False),
                             r"\[edge\] an empty cache: context", groups="edge")
    assert {"one token after 9 cached, padded", "a single token, empty cache"} <= {
        o.name for o in result.outcomes if o.passed}  # one query sees every key anyway

    def cheat(attn, hidden, past, mask):
        B, T, _ = hidden.shape
        step = extended_attention_mask(mask, B, T, mask.shape[1], hidden.dtype, causal=True)
        context, _, cache = attn(hidden, step, past_key_value=past)
        return context, cache

    assert_library_call_caught(check_cache_update, cheat, "attention.extended_attention_mask")
