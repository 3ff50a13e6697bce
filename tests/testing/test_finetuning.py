"""Part IV checker: classifier scores from [CLS], right, wrong and cheating."""

from __future__ import annotations

import torch

from bertedu.testing import check_classifier_logits

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def classifier_logits(last_hidden_state, model, position=0, activation=torch.tanh):
    dense = model.bert.pooler.dense
    pooled = activation(last_hidden_state[:, position] @ dense.weight.T + dense.bias)  # (B, H)
    return pooled @ model.classifier.weight.T + model.classifier.bias  # (B, num_labels)


def test_check_classifier_logits_grades_right_wrong_and_library_call():
    assert_full_marks(check_classifier_logits, classifier_logits)
    assert_rejected(check_classifier_logits, lambda h, m: classifier_logits(h, m, position=-1),
                    r"\[visible\] three labels, padded batch: scores .*values differ")
    assert_rejected(check_classifier_logits,
                    lambda h, m: classifier_logits(h, m, activation=torch.relu),
                    r"values differ")
    assert_rejected(check_classifier_logits,
                    lambda h, m: classifier_logits(h, m)[:, :1], r"shape .* differs")
    assert_library_call_caught(
        check_classifier_logits, lambda h, m: m.classifier(m.bert.pooler(h)),
        "BertPooler.forward")
