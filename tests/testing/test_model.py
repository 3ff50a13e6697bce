"""Chapters 1, 3, 4 and 6 checkers: full marks for a right solution, a message for a wrong one,
and the library case failed by a solution that calls the module it should rebuild."""

from __future__ import annotations

import torch

from bertedu.model.attention import extended_attention_mask
from bertedu.model.modeling import BertModel
from bertedu.testing import check_attention, check_embeddings, check_layer, check_parameter_count

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


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


def test_check_embeddings_grades_right_wrong_and_library_call():
    assert_full_marks(check_embeddings, _embed)
    assert_rejected(check_embeddings, lambda e, i, t: _embed(e, i, t, with_positions=False),
                    r"\[visible\] two sentences: embeddings .*values differ")
    assert_rejected(check_embeddings, lambda e, i, t: _embed(e, i, t)[:, 1:], "shape")
    assert_rejected(check_embeddings, lambda e, i, t: _embed(e, i, t).tolist(), "torch.Tensor")
    assert_library_call_caught(check_embeddings, lambda e, i, t: e(input_ids=i, token_type_ids=t),
                               "BertEmbeddings.forward")


def test_check_embeddings_rejects_a_fixed_eps_in_the_eps_case_only():
    def fixed_eps(emb, ids, types):
        T = ids.shape[1]
        z = (emb.word_embeddings.weight[ids] + emb.token_type_embeddings.weight[types]
             + emb.position_embeddings.weight[torch.arange(T)])
        return torch.nn.functional.layer_norm(z, z.shape[-1:], emb.LayerNorm.weight,
                                              emb.LayerNorm.bias, 1e-12)

    result = assert_rejected(check_embeddings, fixed_eps, "layer_norm_eps=0.001", seed=5,
                             groups="visible")
    assert (result.passed, result.total) == (1, 2)


def _attention(attn, hidden, mask, scale=True, fill=None):
    B, T, _ = hidden.shape
    A, d = attn.num_attention_heads, attn.attention_head_size

    def heads(x):
        return x.view(B, T, A, d).transpose(1, 2)  # (B, A, T, d)

    q, k, v = heads(attn.query(hidden)), heads(attn.key(hidden)), heads(attn.value(hidden))
    scores = q @ k.transpose(-1, -2)  # (B, A, T, T)
    if scale:
        scores = scores / d**0.5
    if fill != "none":
        value = torch.finfo(scores.dtype).min if fill is None else fill
        scores = scores.masked_fill(mask[:, None, None, :] == 0, value)
    context = scores.softmax(-1) @ v  # (B, A, T, d)
    return context.transpose(1, 2).reshape(B, T, A * d)


def _library_attention(attn, hidden, mask):
    B, T, _ = hidden.shape
    return attn(hidden, extended_attention_mask(mask, B, T, T, hidden.dtype))[0]


def test_check_attention_grades_right_wrong_and_library_call():
    assert_full_marks(check_attention, _attention)
    assert_rejected(check_attention, lambda a, h, m: _attention(a, h, m, scale=False),
                    r"attention context vs eager .*values differ")
    assert_rejected(check_attention, lambda a, h, m: _attention(a, h, m, fill="none"),
                    r"\[visible\] a padded batch")
    assert_library_call_caught(check_attention, _library_attention, "BertSelfAttention.forward")


def test_check_attention_edge_case_catches_minus_infinity_on_an_all_padding_row():
    result = assert_rejected(check_attention,
                             lambda a, h, m: _attention(a, h, m, fill=float("-inf")),
                             r"\[edge\] a row that is all padding")
    assert result.passed == result.total - 1  # every other case passes


def _layer(layer, hidden, mask, post_ln=True):
    att = layer.attention
    context = _attention(att.self, hidden, mask)  # (B, T, H)
    a = hidden + att.output.dense(context)
    if post_ln:
        a = _layer_norm(a, att.output.LayerNorm)
    inner = torch.nn.functional.gelu(layer.intermediate.dense(a))  # (B, T, I)
    return _layer_norm(a + layer.output.dense(inner), layer.output.LayerNorm)


def test_check_layer_grades_right_wrong_and_library_call():
    assert_full_marks(check_layer, _layer)
    assert_rejected(check_layer, lambda layer, h, m: _layer(layer, h, m, post_ln=False),
                    "layer output .*values differ")

    def cheat(layer, hidden, mask):
        B, T, _ = hidden.shape
        context = _library_attention(layer.attention.self, hidden, mask)  # the library's attention
        a = _layer_norm(hidden + layer.attention.output.dense(context),
                        layer.attention.output.LayerNorm)
        inner = torch.nn.functional.gelu(layer.intermediate.dense(a))
        return _layer_norm(a + layer.output.dense(inner), layer.output.LayerNorm)

    assert_library_call_caught(check_layer, cheat, "BertSelfAttention.forward")


def _count(config, pooler=True, relative=True):
    V, H, P, S = (config.vocab_size, config.hidden_size, config.max_position_embeddings,
                  config.type_vocab_size)
    I, L = config.intermediate_size, config.num_hidden_layers
    per_layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H
    if relative and config.position_embedding_type != "absolute":
        per_layer += (2 * P - 1) * config.head_size
    return (V + P + S) * H + 2 * H + L * per_layer + (H * H + H if pooler else 0)


def test_check_parameter_count_grades_right_wrong_and_library_call():
    assert_full_marks(check_parameter_count, _count)
    assert_rejected(check_parameter_count, lambda c: _count(c, pooler=False),
                    r"\[visible\] a tiny config: got .*off by \+1,056")
    result = assert_rejected(check_parameter_count, lambda c: _count(c, relative=False),
                             r"\[edge\] relative_key_query positions", groups=("visible", "edge"))
    assert result.passed == result.total - 2  # the two relative-position cases
    assert_full_marks(check_parameter_count, lambda c: _count(c, relative=False), relative=False)
    assert_rejected(check_parameter_count, lambda c: float(_count(c)), "expected an int")
    assert_library_call_caught(check_parameter_count,
                               lambda c: sum(p.numel() for p in BertModel(c).parameters()),
                               "BertModel.__init__")
