"""The chapters 7-9 checkers accept a correct solution and reject a wrong one, saying why."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bertedu import testing


def mlm_head(sequence_output, cls):
    p = cls.predictions
    x = F.gelu(p.transform.dense(sequence_output))  # (B, T, H)
    x = F.layer_norm(x, x.shape[-1:], p.transform.LayerNorm.weight, p.transform.LayerNorm.bias,
                     p.transform.LayerNorm.eps)
    return x @ p.decoder.weight.T + p.bias  # (B, T, V)


def mlm_head_without_layernorm(sequence_output, cls):
    p = cls.predictions
    return F.gelu(p.transform.dense(sequence_output)) @ p.decoder.weight.T + p.bias


def qa_loss(start_logits, end_logits, start_positions, end_positions):
    T = start_logits.shape[1]
    start = start_positions.clamp(0, T)
    end = end_positions.clamp(0, T)
    return (F.cross_entropy(start_logits, start, ignore_index=T)
            + F.cross_entropy(end_logits, end, ignore_index=T)) / 2


def qa_loss_without_ignoring(start_logits, end_logits, start_positions, end_positions):
    T = start_logits.shape[1]
    start = start_positions.clamp(0, T - 1)
    end = end_positions.clamp(0, T - 1)
    return (F.cross_entropy(start_logits, start) + F.cross_entropy(end_logits, end)) / 2


def mean_pooling(hidden, mask):
    m = mask[..., None].to(hidden.dtype)  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def mean_pooling_over_padding(hidden, mask):
    return hidden.mean(1)


def causal_mask(attention_mask, query_length):
    S = attention_mask.shape[1]
    past = S - query_length
    q = torch.arange(past, S)[:, None]  # (T, 1) absolute query positions
    k = torch.arange(S)[None, :]  # (1, S)
    return (k <= q)[None, None] & attention_mask.bool()[:, None, None, :]  # (B, 1, T, S)


def causal_mask_ignoring_cache(attention_mask, query_length):
    S = attention_mask.shape[1]
    q = torch.arange(query_length)[:, None]
    k = torch.arange(S)[None, :]
    return (k <= q)[None, None] & attention_mask.bool()[:, None, None, :]


def causal_mask_ignoring_padding(attention_mask, query_length):
    S = attention_mask.shape[1]
    q = torch.arange(S - query_length, S)[:, None]
    allowed = torch.arange(S)[None, :] <= q
    return allowed[None, None].expand(attention_mask.shape[0], 1, query_length, S)


CASES = [
    (testing.check_mlm_head, mlm_head, mlm_head_without_layernorm, "MLM logits"),
    (testing.check_qa_loss, qa_loss, qa_loss_without_ignoring, "span past the end"),
    (testing.check_mean_pooling, mean_pooling, mean_pooling_over_padding, "sentence embeddings"),
    (testing.check_causal_mask, causal_mask, causal_mask_ignoring_cache, "3 cached keys"),
    (testing.check_causal_mask, causal_mask, causal_mask_ignoring_padding, "allowed positions"),
]


@pytest.mark.parametrize("checker, right, wrong, message", CASES,
                         ids=[f"{c[0].__name__}-{c[2].__name__}" for c in CASES])
def test_checker_accepts_right_and_rejects_wrong(checker, right, wrong, message):
    assert checker(right) is True
    with pytest.raises(AssertionError, match=message):
        checker(wrong)


def test_checker_rejects_a_wrong_shape():
    with pytest.raises(AssertionError, match=r"shape \(2, 7\) differs"):
        testing.check_mlm_head(lambda h, cls: mlm_head(h, cls)[..., 0])


def test_checker_rejects_a_non_tensor():
    with pytest.raises(AssertionError, match="expected a torch.Tensor, got list"):
        testing.check_mean_pooling(lambda h, m: mean_pooling(h, m).tolist())
