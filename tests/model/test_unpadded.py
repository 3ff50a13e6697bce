"""The unpadded forward equals the padded one at every real token (float32, 1e-5).

The tests run on the CPU; ``BERTEDU_TEST_DEVICE=cuda`` runs them on a GPU (where the ``nested``
back end dispatches to the fused variable-length kernels).
"""

from __future__ import annotations

import copy
import os

import pytest
import torch
import torch.nn.functional as F

from bertedu.config import BertConfig
from bertedu.model.modeling import BertForMaskedLM, BertModel
from bertedu.model.unpadded import (
    compile_unpadded,
    pack,
    pad,
    unpad,
    unpadded_forward,
    varlen_attention,
)

TOL = {"atol": 1e-5, "rtol": 1e-5}
DEVICE = torch.device(os.environ.get("BERTEDU_TEST_DEVICE", "cpu"))
if DEVICE.type == "cuda":  # float32 products in full precision, as on the CPU
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def tiny(**overrides) -> BertConfig:
    fields = {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2,
              "num_attention_heads": 4, "intermediate_size": 37, "max_position_embeddings": 16}
    fields.update(overrides)
    return BertConfig(**fields)


def batch():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 99, (3, 9), generator=g)  # (B, T)
    mask = torch.tensor([[1] * 9, [1] * 4 + [0] * 5, [0, 0, 0, 1, 1, 1, 1, 1, 1]])  # right + left
    token_type_ids = torch.randint(0, 2, (3, 9), generator=g)
    labels = torch.where(mask.bool() & (torch.rand(3, 9, generator=g) < 0.5), ids, -100)
    labels[:, 3] = ids[:, 3]  # a label in every row, on a real token
    return tuple(t.to(DEVICE) for t in (ids, mask * 1, token_type_ids, labels))


@pytest.mark.parametrize("attention", ["loop", "nested"])
@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_masked_lm_matches_padded_forward(attention, impl):
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny(attn_implementation=impl)).to(DEVICE).eval()
    ids, mask, tt, labels = batch()
    ref = model(input_ids=ids, attention_mask=mask, token_type_ids=tt, labels=labels)
    out = unpadded_forward(model, ids, mask, tt, labels, attention=attention)
    real = mask.bool()
    torch.testing.assert_close(out.logits[real], ref.logits[real], **TOL)
    torch.testing.assert_close(out.loss, ref.loss, **TOL)
    assert out.logits[~real].abs().max() == 0  # padding stays zero


def test_base_model_matches_padded_forward_with_pooler():
    torch.manual_seed(0)
    model = BertModel(tiny()).to(DEVICE).eval()
    ids, mask, tt, _ = batch()
    ref = model(input_ids=ids, attention_mask=mask, token_type_ids=tt)
    out = unpadded_forward(model, ids, mask, tt)
    real = mask.bool()
    torch.testing.assert_close(out.last_hidden_state[real], ref.last_hidden_state[real], **TOL)
    # row 2 is left-padded: its [CLS] column is padding, so compare the right-padded rows
    torch.testing.assert_close(out.pooler_output[:2], ref.pooler_output[:2], **TOL)


def test_gradients_match_padded_training_step():
    torch.manual_seed(0)
    config = tiny(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = BertForMaskedLM(config).to(DEVICE).train()
    ids, mask, tt, labels = batch()
    model(input_ids=ids, attention_mask=mask, token_type_ids=tt, labels=labels).loss.backward()
    ref = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    unpadded_forward(model, ids, mask, tt, labels).loss.backward()
    for name, grad in ref.items():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, grad, **TOL,
                                   msg=lambda m, name=name: f"{name}: {m}")


def test_varlen_attention_equals_block_diagonal_mask():
    torch.manual_seed(0)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]], device=DEVICE)
    packed = pack(mask)
    assert packed.lengths == [3, 4, 1] and packed.cu_seqlens.tolist() == [0, 3, 7, 8]
    q, k, v = (torch.randn(8, 2, 4, device=DEVICE) for _ in range(3))  # (N, A, d)
    seq_id = torch.repeat_interleave(torch.arange(3, device=DEVICE),
                                     torch.tensor(packed.lengths, device=DEVICE))  # (N,)
    block = seq_id[:, None] == seq_id[None, :]  # (N, N) block-diagonal
    ref = F.scaled_dot_product_attention(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1),
                                         attn_mask=block).transpose(0, 1)  # (N, A, d)
    for backend in ("loop", "nested", "auto"):
        torch.testing.assert_close(varlen_attention(q, k, v, packed, backend=backend), ref, **TOL)


def test_pad_unpad_round_trip():
    mask = torch.tensor([[0, 1, 1], [1, 1, 0]])
    packed = pack(mask)
    x = torch.arange(6.0).view(2, 3, 1)  # (B, T, 1)
    packed_x = unpad(x, packed)
    assert packed_x.flatten().tolist() == [1.0, 2.0, 3.0, 4.0]
    assert pad(packed_x, packed).flatten().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 0.0]


@pytest.mark.parametrize("feature, overrides", [
    ("absolute position", {"position_embedding_type": "relative_key"}),
    ("decoder", {"is_decoder": True}),
])
def test_unsupported_features_raise(feature, overrides):
    model = BertForMaskedLM(tiny(**overrides)).eval()
    ids, mask, _, _ = batch()
    with pytest.raises(NotImplementedError, match=feature):
        unpadded_forward(model, ids, mask)


def test_bad_inputs_raise():
    model = BertModel(tiny()).to(DEVICE).eval()
    ids, mask, _, _ = batch()
    with pytest.raises(ValueError, match="no real token"):
        pack(torch.tensor([[1, 1], [0, 0]]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        pack(torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="shape"):
        pack(torch.ones(3))
    with pytest.raises(ValueError, match="backend"):
        unpadded_forward(model, ids, mask, attention="flash")
    if DEVICE.type == "cpu":
        with pytest.raises(ValueError, match="'flash' needs CUDA"):
            unpadded_forward(model, ids, mask, attention="flash")
    with pytest.raises(TypeError, match="BertModel or BertForMaskedLM"):
        unpadded_forward(torch.nn.Linear(2, 2), ids, mask)


def test_compiled_unpadded_matches_eager_unpadded():
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny()).to(DEVICE).eval()
    ids, mask, tt, labels = batch()
    forward = compile_unpadded(model, backend="eager")  # traces with dynamo, no code generation
    out = forward(ids, mask, tt, labels)
    ref = unpadded_forward(model, ids, mask, tt, labels)
    torch.testing.assert_close(out.logits, ref.logits, **TOL)


def test_packed_logits_skip_the_padded_matrix():
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny()).to(DEVICE).eval()
    ids, mask, tt, labels = batch()
    full = unpadded_forward(model, ids, mask, tt, labels)
    packed = unpadded_forward(model, ids, mask, tt, labels, pad_logits=False)
    real = mask.bool()
    assert packed.logits.shape == (int(real.sum()), 99)  # (N, V)
    torch.testing.assert_close(packed.logits, full.logits[real], **TOL)  # row-major = packed
    torch.testing.assert_close(packed.loss, full.loss, **TOL)


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``||actual - expected|| / ||expected||`` (Frobenius norms, in float32)."""
    return ((actual.float() - expected).norm() / expected.norm()).item()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_training_step(dtype):
    """The half-precision unpadded step is as close to float32 as the padded half step.

    On CUDA this is the path the benchmark times, the variable-length FlashAttention kernel; on
    the CPU the per-sequence SDPA loop. The reference is the padded step in float32 on the same
    (rounded) weights. Gradients of a tiny model span many orders of magnitude (the query
    biases' are ~1e-5, inside float16's subnormal range), so an absolute tolerance cannot tell a
    right gradient from a zero one; each tensor is judged by its relative error in norm instead.
    The unpadded path does the padded path's operations in the same dtype, grouped differently,
    so its rounding error is of the same size: it may be at most twice the padded half step's
    error against float32 (measured: 0.6x to 1.7x on this model) or two machine epsilons,
    whichever is larger. A zero gradient has relative error 1 and a gradient off by 10% has
    0.1: both fail.
    """
    torch.manual_seed(0)
    config = tiny(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = BertForMaskedLM(config).to(DEVICE, dtype).train()
    full = copy.deepcopy(model).float()  # the same rounded weights, computed in float32
    ids, mask, tt, labels = batch()
    attention = "flash" if DEVICE.type == "cuda" else "loop"  # flash is CUDA-only

    def step(m, unpadded=False):
        m.zero_grad(set_to_none=True)
        out = (unpadded_forward(m, ids, mask, tt, labels, attention=attention) if unpadded
               else m(input_ids=ids, attention_mask=mask, token_type_ids=tt, labels=labels))
        out.loss.backward()
        grads = {n: p.grad.float().clone() for n, p in m.named_parameters() if p.grad is not None}
        return out.logits.float(), grads

    logits32, grads32 = step(full)
    logits_padded, grads_padded = step(model)
    logits, grads = step(model, unpadded=True)
    assert set(grads) == set(grads_padded) == set(grads32) and len(grads32) == 42
    eps = torch.finfo(dtype).eps
    real = mask.bool()
    bound = max(2 * relative_error(logits_padded[real], logits32[real]), 2 * eps)
    assert relative_error(logits[real], logits32[real]) <= bound
    for name, ref in grads32.items():
        if name.endswith("attention.self.key.bias"):
            # exactly zero in exact arithmetic: a key bias shifts each row of scores by a
            # constant, which the softmax removes; only rounding remains
            value_bias = grads32[name.replace("key.bias", "value.bias")]
            assert grads[name].norm() <= eps * value_bias.norm(), name
            continue
        padded_error = relative_error(grads_padded[name], ref)
        assert padded_error < 0.05, f"{name}: padded {dtype} step off by {padded_error:.3g}"
        error = relative_error(grads[name], ref)
        assert error <= max(2 * padded_error, 2 * eps), (
            f"{name}: unpadded {dtype} gradient off float32 by {error:.3g} (padded: "
            f"{padded_error:.3g})")
