"""Chapters 3-6 checkers: they accept a correct solution and reject a wrong one, saying why."""

from __future__ import annotations

import pytest
import torch

from bertedu.testing import (
    check_attention,
    check_embeddings,
    check_layer,
    check_parameter_count,
    check_relative_scores,
)


def _layer_norm(z, ln):
    mu = z.mean(dim=-1, keepdim=True)  # (B, T, 1)
    var = z.var(dim=-1, unbiased=False, keepdim=True)  # (B, T, 1)
    return ln.weight * (z - mu) / torch.sqrt(var + ln.eps) + ln.bias


def _embed(emb, input_ids, token_type_ids, with_positions=True, eps=None):
    T = input_ids.shape[1]
    z = emb.word_embeddings.weight[input_ids] + emb.token_type_embeddings.weight[token_type_ids]
    if with_positions:
        z = z + emb.position_embeddings.weight[torch.arange(T)]  # (B, T, H)
    return _layer_norm(z, emb.LayerNorm)


def test_check_embeddings_accepts_a_correct_solution():
    assert check_embeddings(_embed) is True


def test_check_embeddings_rejects_missing_positions():
    with pytest.raises(AssertionError, match="embeddings .*values differ"):
        check_embeddings(lambda emb, ids, types: _embed(emb, ids, types, with_positions=False))


def test_check_embeddings_rejects_a_fixed_eps():
    def fixed_eps(emb, ids, types):
        T = ids.shape[1]
        z = (emb.word_embeddings.weight[ids] + emb.token_type_embeddings.weight[types]
             + emb.position_embeddings.weight[torch.arange(T)])
        return torch.nn.functional.layer_norm(z, z.shape[-1:], emb.LayerNorm.weight,
                                              emb.LayerNorm.bias, 1e-12)

    with pytest.raises(AssertionError, match="layer_norm_eps=0.001"):
        check_embeddings(fixed_eps)


def test_check_embeddings_rejects_a_wrong_shape_and_type():
    with pytest.raises(AssertionError, match="shape"):
        check_embeddings(lambda emb, ids, types: _embed(emb, ids, types)[:, 1:])
    with pytest.raises(AssertionError, match="torch.Tensor"):
        check_embeddings(lambda emb, ids, types: _embed(emb, ids, types).tolist())


def _attention(attn, hidden, mask, scale=True, use_mask=True):
    B, T, _ = hidden.shape
    A, d = attn.num_attention_heads, attn.attention_head_size

    def heads(x):
        return x.view(B, T, A, d).transpose(1, 2)  # (B, A, T, d)

    q, k, v = heads(attn.query(hidden)), heads(attn.key(hidden)), heads(attn.value(hidden))
    scores = q @ k.transpose(-1, -2)  # (B, A, T, T)
    if scale:
        scores = scores / d**0.5
    if use_mask:
        scores = scores.masked_fill(mask[:, None, None, :] == 0, torch.finfo(scores.dtype).min)
    context = scores.softmax(-1) @ v  # (B, A, T, d)
    return context.transpose(1, 2).reshape(B, T, A * d)


def test_check_attention_accepts_a_correct_solution():
    assert check_attention(_attention) is True


def test_check_attention_rejects_missing_scale_and_missing_mask():
    with pytest.raises(AssertionError, match=r"attention context \(eager.*values differ"):
        check_attention(lambda a, h, m: _attention(a, h, m, scale=False))
    with pytest.raises(AssertionError, match="with padding"):
        check_attention(lambda a, h, m: _attention(a, h, m, use_mask=False))


def _relative(attn, q, k, sign=1, key_term=True):
    T = q.shape[2]
    P = attn.distance_embedding.weight.shape[0] // 2 + 1
    pos = torch.arange(T)
    index = sign * (pos[:, None] - pos[None, :]) + P - 1  # (T, T)
    D = attn.distance_embedding.weight[index]  # (T, T, d)
    scores = torch.einsum("bhld,lrd->bhlr", q, D)
    if key_term and attn.position_embedding_type == "relative_key_query":
        scores = scores + torch.einsum("bhrd,lrd->bhlr", k, D)
    return scores


def test_check_relative_scores_accepts_a_correct_solution():
    assert check_relative_scores(_relative) is True


def test_check_relative_scores_rejects_a_flipped_distance_and_a_missing_key_term():
    with pytest.raises(AssertionError, match=r"relative scores \(relative_key\)"):
        check_relative_scores(lambda a, q, k: _relative(a, q, k, sign=-1))
    with pytest.raises(AssertionError, match=r"relative scores \(relative_key_query\)"):
        check_relative_scores(lambda a, q, k: _relative(a, q, k, key_term=False))


def _layer(layer, hidden, mask, post_ln=True):
    att = layer.attention
    context = _attention(att.self, hidden, mask)  # (B, T, H)
    if post_ln:
        a = _layer_norm(hidden + att.output.dense(context), att.output.LayerNorm)
    else:
        a = hidden + att.output.dense(context)
    inner = torch.nn.functional.gelu(layer.intermediate.dense(a))  # (B, T, I)
    return _layer_norm(a + layer.output.dense(inner), layer.output.LayerNorm)


def test_check_layer_accepts_a_correct_solution():
    assert check_layer(_layer) is True


def test_check_layer_rejects_a_missing_layer_norm():
    with pytest.raises(AssertionError, match="layer output .*values differ"):
        check_layer(lambda layer, h, m: _layer(layer, h, m, post_ln=False))


def _count(config, pooler=True):
    V, H, P, S = (config.vocab_size, config.hidden_size, config.max_position_embeddings,
                  config.type_vocab_size)
    I, L = config.intermediate_size, config.num_hidden_layers
    per_layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H
    if config.position_embedding_type != "absolute":
        per_layer += (2 * P - 1) * config.head_size
    return (V + P + S) * H + 2 * H + L * per_layer + (H * H + H if pooler else 0)


def test_check_parameter_count_accepts_a_correct_formula():
    assert check_parameter_count(_count) is True


def test_check_parameter_count_rejects_a_missing_pooler():
    with pytest.raises(AssertionError, match=r"parameter count .*difference 1056\)"):
        check_parameter_count(lambda c: _count(c, pooler=False))
