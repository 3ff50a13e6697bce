"""Chapters 7-8 checkers: the MLM head, the QA loss and mean pooling, right, wrong and cheating."""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from bertedu import BertConfig
from bertedu.model.modeling import BertModel
from bertedu.model.task_models import BertForQuestionAnswering
from bertedu.testing import check_mean_pooling, check_mlm_head, check_qa_loss

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected

TINY = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=8)


def mlm_head(sequence_output, cls, layer_norm=True):
    p = cls.predictions
    x = F.gelu(sequence_output @ p.transform.dense.weight.T + p.transform.dense.bias)  # (B, T, H)
    if layer_norm:
        ln = p.transform.LayerNorm
        x = F.layer_norm(x, x.shape[-1:], ln.weight, ln.bias, ln.eps)
    return x @ p.decoder.weight.T + p.bias  # (B, T, V)


def test_check_mlm_head_grades_right_wrong_and_library_call():
    assert_full_marks(check_mlm_head, mlm_head)
    assert_rejected(check_mlm_head, lambda h, cls: mlm_head(h, cls, layer_norm=False),
                    r"\[visible\] a batch of 2 x 7: MLM logits .*values differ")
    assert_rejected(check_mlm_head, lambda h, cls: mlm_head(h, cls)[..., 0],
                    r"shape \(2, 7\) differs")
    assert_library_call_caught(check_mlm_head, lambda h, cls: cls(h), "BertOnlyMLMHead.forward")


def qa_loss(start_logits, end_logits, start_positions, end_positions, ignore=True):
    T = start_logits.shape[1]
    top = T if ignore else T - 1
    start, end = start_positions.clamp(0, top), end_positions.clamp(0, top)
    return (F.cross_entropy(start_logits, start, ignore_index=T)
            + F.cross_entropy(end_logits, end, ignore_index=T)) / 2


class _GivenHidden(nn.Module):
    """Stands in for the encoder: returns the stacked logits as its 'hidden states'."""

    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden

    def forward(self, **inputs):
        return SimpleNamespace(last_hidden_state=self.hidden, hidden_states=None, attentions=None)


def qa_loss_through_the_model(start_logits, end_logits, start_positions, end_positions):
    """Right answers, by feeding the given logits through the library's forward."""
    model = BertForQuestionAnswering(TINY)
    model.bert = _GivenHidden(torch.stack([start_logits, end_logits], dim=-1))  # (B, T, 2)
    model.qa_outputs = nn.Identity()
    return model(start_positions=start_positions, end_positions=end_positions).loss


def test_check_qa_loss_grades_right_wrong_and_library_call():
    assert_full_marks(check_qa_loss, qa_loss)
    assert_rejected(check_qa_loss, lambda s, e, sp, ep: qa_loss(s, e, sp, ep, ignore=False),
                    r"\[visible\] a span past the end")
    assert_rejected(check_qa_loss, lambda s, e, sp, ep: qa_loss(s, e, sp, ep) * 2, "QA loss")
    assert_library_call_caught(check_qa_loss, qa_loss_through_the_model,
                               "BertForQuestionAnswering.forward")


def mean_pooling(hidden, mask):
    m = mask[..., None].to(hidden.dtype)  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, H)


def test_check_mean_pooling_grades_right_wrong_and_library_call():
    assert_full_marks(check_mean_pooling, mean_pooling)
    result = assert_rejected(check_mean_pooling, lambda h, m: h.mean(1),
                             r"\[visible\] three padded sentences")
    assert {"no padding", "one sentence of one token"} <= {
        o.name for o in result.outcomes if o.passed}  # right where there is no padding
    assert_rejected(check_mean_pooling, lambda h, m: mean_pooling(h, m).tolist(),
                    "expected a torch.Tensor, got list")

    tiny = BertModel(TINY)

    def cheat(hidden, mask):  # re-encodes with a model of its own before pooling
        tiny(mask)
        return mean_pooling(hidden, mask)

    assert_library_call_caught(check_mean_pooling, cheat, "BertModel.forward")

    def pooled_by_the_library(hidden, mask):
        from bertedu.pipelines.feature_extraction import mean_pooling as library_pooling
        return library_pooling(hidden, mask)

    assert_library_call_caught(check_mean_pooling, pooled_by_the_library,
                               "feature_extraction.mean_pooling")
