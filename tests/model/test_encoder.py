"""Encoder layers, stack, pooler and activations against the reference."""

import pytest
import torch
import transformers
from transformers.models.bert import modeling_bert as ref

from bertedu.config import BertConfig
from bertedu.model.attention import extended_attention_mask
from bertedu.model.encoder import ACT2FN, BertEncoder, BertIntermediate, BertPooler

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)


def _randomize(module):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.3)
    return module.eval()


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu", "silu", "swish", "tanh",
                                 "gelu_pytorch_tanh"])
def test_activations_match_reference(act):
    from transformers.activations import ACT2FN as REF

    x = torch.linspace(-6, 6, 101)
    torch.testing.assert_close(ACT2FN[act](x), REF[act](x), rtol=0, atol=1e-6)
    ours = _randomize(BertIntermediate(BertConfig(**TINY, hidden_act=act)))
    theirs = ref.BertIntermediate(transformers.BertConfig(**TINY, hidden_act=act))
    theirs.load_state_dict(ours.state_dict())
    h = torch.randn(2, 3, 32)
    torch.testing.assert_close(ours(h), theirs(h), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["absolute", "relative_key_query"])
@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_encoder_matches_reference(kind, impl):
    cfg = dict(TINY, position_embedding_type=kind)
    ours = _randomize(BertEncoder(BertConfig(**cfg, attn_implementation=impl)))
    theirs = ref.BertEncoder(transformers.BertConfig(**cfg, attn_implementation="eager")).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 6, 32)
    pad = torch.ones(2, 6)
    pad[1, 4:] = 0
    mask = extended_attention_mask(pad, 2, 6, 6, torch.float32)
    last, presents, hidden, attns, cross = ours(x, mask, output_attentions=True,
                                                output_hidden_states=True)
    expected = theirs(x, mask, output_attentions=True, output_hidden_states=True)
    torch.testing.assert_close(last, expected.last_hidden_state, rtol=0, atol=1e-5)
    assert presents is None and cross is None
    assert len(hidden) == 3 and len(attns) == 2
    for a, b in zip(hidden, expected.hidden_states, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    for a, b in zip(attns, expected.attentions, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_decoder_layer_with_cross_attention_matches_reference():
    cfg = dict(TINY, is_decoder=True, add_cross_attention=True)
    ours = _randomize(BertEncoder(BertConfig(**cfg)))
    theirs = ref.BertEncoder(transformers.BertConfig(**cfg, attn_implementation="eager")).eval()
    theirs.load_state_dict(ours.state_dict())
    assert "layer.0.crossattention.self.query.weight" in ours.state_dict()
    x, enc = torch.randn(2, 5, 32), torch.randn(2, 4, 32)
    mask = extended_attention_mask(None, 2, 5, 5, torch.float32, causal=True)
    last, presents, _, attns, cross = ours(x, mask, None, enc, use_cache=True,
                                             output_attentions=True)
    expected = theirs(x, mask, encoder_hidden_states=enc, output_attentions=True)
    torch.testing.assert_close(last, expected.last_hidden_state, rtol=0, atol=1e-5)
    assert len(presents) == 2 and len(presents[0]) == 4 and presents[0][2].shape == (2, 4, 4, 8)
    assert len(cross) == 2 and cross[0].shape == (2, 4, 5, 4)


def test_gradient_checkpointing_same_gradients():
    enc = _randomize(BertEncoder(BertConfig(**TINY, hidden_dropout_prob=0.0,
                                            attention_probs_dropout_prob=0.0)))
    x = torch.randn(2, 5, 32, requires_grad=True)
    enc.train()
    enc(x)[0].sum().backward()
    plain = [p.grad.clone() for p in enc.parameters()]
    enc.zero_grad()
    enc.gradient_checkpointing = True
    enc(x)[0].sum().backward()
    for a, p in zip(plain, enc.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad)


def test_pooler_and_errors():
    pooler = _randomize(BertPooler(BertConfig(**TINY)))
    theirs = ref.BertPooler(transformers.BertConfig(**TINY))
    theirs.load_state_dict(pooler.state_dict())
    h = torch.randn(2, 5, 32)
    torch.testing.assert_close(pooler(h), theirs(h))
    enc = BertEncoder(BertConfig(**TINY))
    with pytest.raises(ValueError, match="no cross-attention"):
        enc(h, encoder_hidden_states=h)
    with pytest.raises(ValueError, match="one per layer"):
        enc(h, past_key_values=((h, h),))
