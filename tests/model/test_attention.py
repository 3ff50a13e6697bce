"""Attention: eager and SDPA against the reference, relative positions, cache, masks."""

import pytest
import torch
import transformers
from transformers.models.bert import modeling_bert as ref

from bertedu.config import BertConfig
from bertedu.model.attention import BertAttention, BertSelfAttention, extended_attention_mask

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64, attention_probs_dropout_prob=0.0)
KINDS = ["absolute", "relative_key", "relative_key_query"]
IMPLS = ["eager", "sdpa"]


def _randomize(module):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.3)
    return module.eval()


def _padding_mask():
    mask = torch.ones(3, 7, dtype=torch.long)
    mask[1, 5:] = 0
    mask[2, 2:] = 0
    return mask


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", IMPLS)
def test_self_attention_matches_reference(kind, impl):
    ours = _randomize(BertAttention(BertConfig(**TINY, position_embedding_type=kind,
                                               attn_implementation=impl)))
    theirs = ref.BertAttention(transformers.BertConfig(
        **TINY, position_embedding_type=kind, attn_implementation="eager")).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 7, 32)
    mask = extended_attention_mask(_padding_mask(), 3, 7, 7, torch.float32)
    out, probs, (k, v) = ours(x, mask)
    expected = theirs(x, mask)[0]
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)
    assert probs is None  # probabilities only on request, so the (T, T) matrix is freed early
    assert k.shape == v.shape == (3, 4, 7, 8)
    out, probs, _ = ours(x, mask, output_attentions=True)  # probabilities from both impls
    assert probs.shape == (3, 4, 7, 7)
    ref_out, ref_probs = theirs(x, mask, output_attentions=True)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-5)
    torch.testing.assert_close(probs, ref_probs, rtol=0, atol=1e-5)
    assert torch.all(probs[2, :, :, 2:] == 0)  # padded keys get no weight


def test_cross_attention_matches_reference():
    cfg = dict(TINY, is_decoder=True, add_cross_attention=True)
    for impl in IMPLS:
        ours = _randomize(BertAttention(BertConfig(**cfg, attn_implementation=impl),
                                        position_embedding_type="absolute"))
        theirs = ref.BertAttention(transformers.BertConfig(**cfg, attn_implementation="eager"),
                                   position_embedding_type="absolute").eval()
        theirs.load_state_dict(ours.state_dict())
        x, enc = torch.randn(2, 5, 32), torch.randn(2, 9, 32)
        enc_mask = torch.ones(2, 9)
        enc_mask[0, 6:] = 0
        mask = extended_attention_mask(enc_mask, 2, 5, 9, torch.float32)
        out, _, (k, v) = ours(x, mask, None, enc)
        torch.testing.assert_close(out, theirs(x, mask, encoder_hidden_states=enc)[0],
                                   rtol=0, atol=1e-5)
        assert k.shape == (2, 4, 9, 8)
        reused, _, (k2, _) = ours(x, mask, None, enc, past_key_value=(k, v))  # cached k/v reused
        assert k2 is k
        torch.testing.assert_close(reused, out, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_sdpa_equals_eager_with_cache_and_causal_mask(kind):
    torch.manual_seed(1)
    eager = _randomize(BertSelfAttention(BertConfig(**TINY, position_embedding_type=kind,
                                                    attn_implementation="eager", is_decoder=True)))
    sdpa = BertSelfAttention(BertConfig(**TINY, position_embedding_type=kind,
                                        attn_implementation="sdpa", is_decoder=True)).eval()
    sdpa.load_state_dict(eager.state_dict())
    x = torch.randn(2, 10, 32)
    pad = torch.ones(2, 10)
    pad[1, :2] = 0  # left padding
    full_mask = extended_attention_mask(pad, 2, 10, 10, torch.float32, causal=True)
    full, _, _ = eager(x, full_mask)
    torch.testing.assert_close(sdpa(x, full_mask)[0], full, rtol=0, atol=1e-5)
    # first 6 tokens, then a chunk of 3 and a single token through the cache
    for module in (eager, sdpa):
        parts, cache, start = [], None, 0
        for stop in (6, 9, 10):
            mask = extended_attention_mask(pad[:, :stop], 2, stop - start, stop, torch.float32,
                                           causal=True)
            out, _, cache = module(x[:, start:stop], mask, past_key_value=cache)
            parts.append(out)
            start = stop
        got = torch.cat(parts, dim=1)
        # fully masked rows (padded queries of row 1) carry no meaning: compare the others
        torch.testing.assert_close(got[0], full[0], rtol=0, atol=1e-5)
        torch.testing.assert_close(got[1, 2:], full[1, 2:], rtol=0, atol=1e-5)


def test_relative_term_by_hand():
    attn = _randomize(BertSelfAttention(BertConfig(**TINY, position_embedding_type="relative_key",
                                                   attn_implementation="eager")))
    q, k = torch.randn(1, 4, 3, 8), torch.randn(1, 4, 5, 8)  # 3 queries after 2 cached keys
    scores = attn.relative_scores(q, k)
    table = attn.distance_embedding.weight
    for i in range(3):
        for j in range(5):
            expected = q[0, :, i] @ table[(i + 2) - j + 63]
            torch.testing.assert_close(scores[0, :, i, j], expected)


def test_mask_helper_and_shapes():
    mask = extended_attention_mask(torch.tensor([[1, 1, 0]]), 1, 3, 3, torch.float32)
    assert mask.shape == (1, 1, 1, 3) and mask[0, 0, 0, 2] == torch.finfo(torch.float32).min
    assert extended_attention_mask(None, 2, 3, 3, torch.float32) is None
    assert extended_attention_mask(torch.ones(2, 3), 2, 3, 3, torch.float32) is None  # no padding
    causal = extended_attention_mask(None, 1, 2, 4, torch.float32, causal=True)
    assert causal.shape == (1, 1, 2, 4)
    assert (causal[0, 0] == 0).tolist() == [[True, True, True, False], [True, True, True, True]]
    three = extended_attention_mask(torch.ones(2, 3, 4), 2, 3, 4, torch.float32)
    assert three.shape == (2, 1, 3, 4)
    four = torch.zeros(2, 1, 3, 4)
    assert extended_attention_mask(four, 2, 3, 4, torch.float32) is not None


@pytest.mark.parametrize("mask, message", [
    (torch.ones(2, 5), r"expected \(batch, 4\)"),
    (torch.ones(3, 4), "with batch size 2"),
    (torch.ones(2, 2, 4), r"expected \(batch, 3, 4\)"),
    (torch.ones(2, 1, 3, 5), r"expected \(batch, 1 or heads, 3, 4\)"),
    (torch.ones(4), "has 1 dimensions"),
])
def test_bad_mask_shapes(mask, message):
    with pytest.raises(ValueError, match=message):
        extended_attention_mask(mask, 2, 3, 4, torch.float32)


def test_sdpa_dropout_only_in_training():
    cfg = BertConfig(**dict(TINY, attention_probs_dropout_prob=0.5))
    attn = _randomize(BertSelfAttention(cfg))
    x = torch.randn(2, 6, 32)
    torch.testing.assert_close(attn(x)[0], attn(x)[0])
    attn.train()
    assert not torch.allclose(attn(x)[0], attn(x)[0])


def _qkv(batch, heads, q_len, k_len, width, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, heads, n, width, generator=g, requires_grad=True)
            for n in (q_len, k_len, k_len)]


def _attend_and_grads(fn, seed, inputs, weight):
    """fn's output and the gradients of <output, weight> w.r.t. inputs, with the RNG at seed."""
    torch.manual_seed(seed)
    out = fn()
    return (out, *torch.autograd.grad((out * weight).sum(), inputs))


@pytest.mark.parametrize("bias_kind", ["none", "padding", "keep_3d", "causal", "relative"])
@pytest.mark.parametrize("q_len, k_len, block", [(7, 7, None), (5, 9, None), (6, 6, 150)])
def test_cpu_dropout_attention_equals_sdpa_with_the_same_seed(monkeypatch, bias_kind, q_len,
                                                              k_len, block):
    """Same seed, same dropped entries: output and every gradient equal SDPA's training path.

    ``block=150`` splits the 2 x 3 = 6 heads of (6, 6) scores into blocks of 150 // 36 = 4
    heads: one full block and a shorter last one.
    """
    from bertedu.model import attention

    if block is not None:
        monkeypatch.setattr(attention, "CPU_SCORE_BLOCK", block)
    q, k, v = _qkv(2, 3, q_len, k_len, 8)
    inputs = [q, k, v]
    neg = torch.finfo(torch.float32).min
    bias = None
    if bias_kind == "padding":
        bias = torch.zeros(2, 1, 1, k_len)
        bias[1, ..., k_len - 2:] = neg
    elif bias_kind == "keep_3d":  # (B, 1, T_q, T_k), e.g. a causal or 3D keep-mask
        bias = torch.where(torch.rand(2, 1, q_len, k_len) < 0.3, neg, 0.0)
        bias[..., 0] = 0.0
    elif bias_kind == "causal":  # one (1, 1, T_q, T_k) mask for every sequence and head
        bias = extended_attention_mask(None, 2, q_len, k_len, torch.float32, causal=True)
        assert bias.shape == (1, 1, q_len, k_len)
    elif bias_kind == "relative":  # a bias with a gradient of its own, as relative positions
        bias = torch.randn(2, 3, q_len, k_len, requires_grad=True)
        inputs.append(bias)
    weight = torch.randn(2, 3, q_len, 8)
    ours = _attend_and_grads(lambda: attention.dropout_attention_cpu(q, k, v, bias, 0.25), 7,
                             inputs, weight)
    theirs = _attend_and_grads(lambda: torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=bias, dropout_p=0.25), 7, inputs, weight)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    # and another seed drops other entries
    other = _attend_and_grads(lambda: attention.dropout_attention_cpu(q, k, v, bias, 0.25), 8,
                              inputs, weight)
    assert not torch.allclose(other[0], ours[0])


def test_cpu_dropout_attention_keeps_each_probability_with_chance_one_minus_p():
    """Uniform probabilities over 64 keys and V = 1: each output is kept / (64 (1 - p)),
    whose mean over 2 x 4 x 64 rows is 1 within a few standard errors."""
    from bertedu.model.attention import dropout_attention_cpu

    q = torch.zeros(2, 4, 64, 8)
    v = torch.ones(2, 4, 64, 8)
    torch.manual_seed(0)
    out = dropout_attention_cpu(q, q, v, None, 0.3)[..., 0]  # (2, 4, 64)
    kept = out * 64 * 0.7  # the number of kept keys in each row
    assert kept.min() > 20 and kept.max() <= 64
    # binomial(64, 0.7): mean 44.8, std sqrt(64 * 0.7 * 0.3) = 3.67; the mean of 512 rows
    # has a standard error of 0.16
    assert abs(kept.mean().item() - 44.8) < 0.8


def test_cpu_training_attention_takes_the_dropout_path_only_when_it_applies(monkeypatch):
    from bertedu.model import attention

    calls = []
    real = attention.dropout_attention_cpu
    monkeypatch.setattr(attention, "dropout_attention_cpu",
                        lambda *args: calls.append(1) or real(*args))
    cfg = BertConfig(**dict(TINY, attention_probs_dropout_prob=0.1, attn_implementation="sdpa"))
    attn = _randomize(BertSelfAttention(cfg))
    x = torch.randn(3, 7, 32)
    mask = extended_attention_mask(_padding_mask(), 3, 7, 7, torch.float32)
    attn(x, mask)  # eval: no dropout, SDPA's fused kernel
    assert calls == []
    attn.train()
    attn(x, mask)
    assert calls == [1]
    # a user's additive mask with a row of -inf only: SDPA's safe softmax gives that row zeros,
    # a plain softmax would give NaN, so SDPA keeps it
    user = torch.zeros(3, 1, 7, 7)
    user[0, 0, 2] = float("-inf")
    torch.manual_seed(3)
    out = attn(x, user)[0]
    assert calls == [1]
    assert torch.isfinite(out).all()
    torch.manual_seed(3)
    q, k, v = (attn._heads(layer(x)) for layer in (attn.query, attn.key, attn.value))
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=user,
                                                                dropout_p=0.1)
    torch.testing.assert_close(out, expected.transpose(1, 2).reshape(3, 7, 32))
    # eager stays the step-by-step path
    attn.config.attn_implementation = "eager"
    attn(x, mask)
    assert calls == [1]


@pytest.mark.parametrize("kind", KINDS)
def test_training_step_with_dropout_equals_transformers_with_the_same_seed(kind):
    """Dropout everywhere (hidden and attention, p = 0.1): with one seed both libraries drop
    the same entries, so one training step's loss and gradients agree."""
    from bertedu import BertForSequenceClassification

    cfg = dict(TINY, attention_probs_dropout_prob=0.1, hidden_dropout_prob=0.1,
               position_embedding_type=kind, num_labels=3)
    torch.manual_seed(0)
    ours = BertForSequenceClassification(BertConfig(**cfg, attn_implementation="sdpa")).train()
    theirs = transformers.BertForSequenceClassification(
        transformers.BertConfig(**cfg, attn_implementation="sdpa")).train()
    assert not theirs.load_state_dict(ours.state_dict(), strict=False).missing_keys
    ids = torch.randint(0, 99, (3, 7))
    mask = _padding_mask()
    labels = torch.tensor([0, 2, 1])
    losses = []
    for model in (ours, theirs):
        torch.manual_seed(11)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        losses.append(loss)
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-5, atol=1e-5)
    theirs_grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, theirs_grads[name].grad, rtol=1e-5, atol=1e-5,
                                   msg=name)
