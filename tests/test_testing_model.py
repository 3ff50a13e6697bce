"""Chapters 3-6 checkers: they accept a correct solution and reject a wrong one, saying why."""

from __future__ import annotations

import pytest
import torch

from bertedu.testing import check_embeddings


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
