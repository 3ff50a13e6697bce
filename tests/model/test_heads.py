"""Pretraining heads against the reference, and the tied MLM decoder."""

import torch
import transformers
from transformers.models.bert import modeling_bert as ref

from bertedu.config import BertConfig
from bertedu.model.heads import (
    BertLMPredictionHead,
    BertOnlyMLMHead,
    BertOnlyNSPHead,
    BertPredictionHeadTransform,
    BertPreTrainingHeads,
)
from bertedu.model.modeling import BertForPreTraining

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)


def _pair(ours_cls, ref_cls):
    torch.manual_seed(0)
    ours = ours_cls(BertConfig(**TINY))
    with torch.no_grad():
        for p in ours.parameters():
            p.normal_(0, 0.3)
    theirs = ref_cls(transformers.BertConfig(**TINY))
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def test_heads_match_reference():
    h, pooled = torch.randn(2, 5, 32), torch.randn(2, 32)
    for ours_cls, ref_cls in [(BertPredictionHeadTransform, ref.BertPredictionHeadTransform),
                              (BertLMPredictionHead, ref.BertLMPredictionHead),
                              (BertOnlyMLMHead, ref.BertOnlyMLMHead)]:
        ours, theirs = _pair(ours_cls, ref_cls)
        torch.testing.assert_close(ours(h), theirs(h), rtol=0, atol=1e-5)
    ours, theirs = _pair(BertOnlyNSPHead, ref.BertOnlyNSPHead)
    torch.testing.assert_close(ours(pooled), theirs(pooled), rtol=0, atol=1e-5)
    ours, theirs = _pair(BertPreTrainingHeads, ref.BertPreTrainingHeads)
    for a, b in zip(ours(h, pooled), theirs(h, pooled), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_decoder_bias_is_the_head_bias():
    head = BertLMPredictionHead(BertConfig(**TINY))
    assert head.decoder.bias is head.bias and head.bias.shape == (99,)
    assert head(torch.randn(1, 3, 32)).shape == (1, 3, 99)


def test_decoder_tied_to_word_embeddings_and_trained_together():
    model = BertForPreTraining(BertConfig(**TINY))
    embeddings = model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.weight is embeddings
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())  # counted once
    out = model(torch.randint(0, 99, (2, 4)))
    out.prediction_logits.sum().backward()
    assert embeddings.grad is not None and embeddings.grad.abs().sum() > 0
