"""``BertModel(pooled_only=True)``: the last layer computes the [CLS] row alone.

The pooled heads (sequence classification, multiple choice, next sentence) ask for it. It must
change nothing a caller can see: the same pooled output, logits, loss and gradients as the full
last layer (and as transformers), and in training the same dropout masks for the same seed.
"""

import pytest
import torch
import torch.nn.functional as F
import transformers
from torch import nn

from bertedu.config import BertConfig
from bertedu.model.attention import dropout_attention_cpu, dropout_rows
from bertedu.model.modeling import BertForNextSentencePrediction, BertModel
from bertedu.model.task_models import BertForMultipleChoice, BertForSequenceClassification

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)
KINDS = ["absolute", "relative_key", "relative_key_query"]
IMPLS = ["eager", "sdpa"]


def _inputs(batch=3, seq=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 99, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.long)
    mask[1, 5:] = 0
    mask[2, 2:] = 0
    return ids, mask


def _last_layer_widths(model):
    """Record the sequence length of each layer's output during the next forward."""
    widths = []
    for layer in model.encoder.layer:
        layer.register_forward_hook(lambda m, args, out: widths.append(out[0].shape[1]))
    return widths


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", IMPLS)
def test_pooled_output_and_gradients_equal_the_full_last_layer(kind, impl):
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY, position_embedding_type=kind,
                                 attn_implementation=impl)).eval()
    ids, mask = _inputs()
    widths = _last_layer_widths(model)
    results = []
    for pooled_only in (False, True):
        model.zero_grad(set_to_none=True)
        out = model(ids, attention_mask=mask, pooled_only=pooled_only)
        out.pooler_output.pow(2).sum().backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append((out, grads))
    (full, full_grads), (pooled, pooled_grads) = results
    assert widths == [7, 7, 7, 1]  # full forward, then the pooled one: last layer one row
    assert full.last_hidden_state.shape == (3, 7, 32)
    assert pooled.last_hidden_state.shape == (3, 1, 32)
    torch.testing.assert_close(pooled.last_hidden_state[:, 0], full.last_hidden_state[:, 0],
                               rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(pooled.pooler_output, full.pooler_output, rtol=1e-5, atol=1e-6)
    assert full_grads.keys() == pooled_grads.keys()
    for name, grad in full_grads.items():
        torch.testing.assert_close(pooled_grads[name], grad, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", IMPLS)
def test_training_with_dropout_draws_the_same_masks(kind, impl):
    """p = 0.3 everywhere: the pooled path draws every mask for the whole last layer and uses
    its [CLS] rows, so with one seed it drops what the full layer drops, and the random stream
    afterwards (the classifier's dropout) is the same too."""
    cfg = BertConfig(**TINY, position_embedding_type=kind, attn_implementation=impl,
                     hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3, num_labels=3)
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg).train()
    ids, mask = _inputs()
    labels = torch.tensor([0, 2, 1])
    results = []
    for pooled_only in (False, True):
        model.zero_grad(set_to_none=True)
        torch.manual_seed(5)
        out = model.bert(ids, attention_mask=mask, pooled_only=pooled_only)
        logits = model.classifier(model.dropout(out.pooler_output))
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        after = torch.rand(3)  # where the stream stands afterwards
        results.append((loss, after, {n: p.grad.clone() for n, p in model.named_parameters()
                                      if p.grad is not None}))
    (loss_full, after_full, grads_full), (loss_pooled, after_pooled, grads_pooled) = results
    torch.testing.assert_close(loss_pooled, loss_full, rtol=1e-5, atol=1e-6)
    assert torch.equal(after_pooled, after_full)
    for name, grad in grads_full.items():
        torch.testing.assert_close(grads_pooled[name], grad, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("cls, shape, extra", [
    (BertForSequenceClassification, (3, 7), dict(num_labels=3)),
    (BertForMultipleChoice, (2, 3, 7), {}),
    (BertForNextSentencePrediction, (3, 7), {}),
])
def test_pooled_heads_use_it_and_match_transformers(cls, shape, extra):
    torch.manual_seed(0)
    ours = cls(BertConfig(**TINY, **extra)).eval()
    theirs = getattr(transformers, cls.__name__)(
        transformers.BertConfig(**TINY, **extra, attn_implementation="sdpa")).eval()
    assert not theirs.load_state_dict(ours.state_dict(), strict=False).missing_keys
    ids = torch.randint(0, 99, shape, generator=torch.Generator().manual_seed(1))
    widths = _last_layer_widths(ours.bert)
    with torch.no_grad():
        got, expected = ours(input_ids=ids).logits, theirs(input_ids=ids).logits
    assert widths[-1] == 1
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    # asking for hidden states or attentions computes every row of the last layer
    widths.clear()
    with torch.no_grad():
        out = ours(input_ids=ids, output_hidden_states=True, output_attentions=True)
        ref = theirs(input_ids=ids, output_hidden_states=True, output_attentions=True)
    assert widths[-1] == shape[-1]
    torch.testing.assert_close(out.logits, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.hidden_states[-1], ref.hidden_states[-1].view(
        out.hidden_states[-1].shape), rtol=1e-5, atol=1e-5)


def test_three_dimensional_mask_and_gradient_checkpointing():
    """A (B, T, T) mask gives every query its own row: the pooled path keeps the [CLS] row.
    Recomputation under gradient checkpointing goes through the same path."""
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY, hidden_dropout_prob=0.2,
                                 attention_probs_dropout_prob=0.2)).train()
    ids, _ = _inputs()
    keep = torch.rand(3, 7, 7, generator=torch.Generator().manual_seed(2)) > 0.3
    keep[..., 0] = True  # every query sees at least [CLS]
    outs = []
    for pooled_only, checkpointing in ((False, False), (True, False), (True, True)):
        model.gradient_checkpointing = checkpointing
        model.zero_grad(set_to_none=True)
        torch.manual_seed(3)
        pooled = model(ids, attention_mask=keep.long(), pooled_only=pooled_only).pooler_output
        pooled.sum().backward()
        outs.append((pooled, model.embeddings.word_embeddings.weight.grad.clone()))
    for pooled, grad in outs[1:]:
        torch.testing.assert_close(pooled, outs[0][0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad, outs[0][1], rtol=1e-5, atol=1e-6)


def test_decoder_cache_and_no_pooler_compute_everything():
    torch.manual_seed(0)
    ids, _ = _inputs()
    decoder = BertModel(BertConfig(**TINY, is_decoder=True)).eval()
    widths = _last_layer_widths(decoder)
    out = decoder(ids, pooled_only=True)  # use_cache defaults to True for a decoder
    assert widths[-1] == 7 and out.past_key_values is not None
    plain = BertModel(BertConfig(**TINY), add_pooling_layer=False).eval()
    widths = _last_layer_widths(plain)
    assert plain(ids, pooled_only=True).last_hidden_state.shape == (3, 7, 32)
    assert widths[-1] == 7


@pytest.mark.parametrize("p", [0.0, 0.25, 1.0])
def test_dropout_rows_equals_dropout_of_the_whole(p):
    x = torch.randn(4, 9, 5)
    torch.manual_seed(7)
    whole = F.dropout(x, p, True)
    after_whole = torch.rand(2)
    torch.manual_seed(7)
    part = dropout_rows(x[:, :2], nn.Dropout(p), full_len=9)
    assert torch.equal(part, whole[:, :2]) and torch.equal(torch.rand(2), after_whole)
    assert torch.equal(dropout_rows(x, nn.Dropout(p).eval(), full_len=12), x)  # evaluation
    y = torch.randn(2, 3, 6, 6)
    torch.manual_seed(8)
    whole = F.dropout(y, p, True)
    torch.manual_seed(8)
    assert torch.equal(dropout_rows(y[:, :, :4], nn.Dropout(p), full_len=6, dim=2),
                       whole[:, :, :4])


def test_dropout_attention_cpu_draws_for_every_query():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 6, 4, generator=g) for _ in range(3))
    bias = torch.zeros(2, 1, 1, 6)
    bias[1, ..., 4:] = torch.finfo(torch.float32).min
    torch.manual_seed(4)
    whole = dropout_attention_cpu(q, k, v, bias, 0.3)
    after = torch.rand(2)
    torch.manual_seed(4)
    first = dropout_attention_cpu(q[:, :, :1], k, v, bias, 0.3, draw_rows=6)
    torch.testing.assert_close(first, whole[:, :, :1], rtol=1e-6, atol=1e-7)
    assert torch.equal(torch.rand(2), after)
