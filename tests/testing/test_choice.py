"""Chapter 16 checker: choice scores from (B, C, T) inputs, right, wrong and cheating."""

from __future__ import annotations

import torch

from bertedu.testing import check_choice_logits

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def choice_logits(input_ids, attention_mask, token_type_ids, model, transpose=False,
                  segments=True, pooled=True):
    batch, count, seq = input_ids.shape
    out = model.bert(input_ids=input_ids.reshape(-1, seq),
                     attention_mask=attention_mask.reshape(-1, seq),
                     token_type_ids=token_type_ids.reshape(-1, seq) if segments else None)
    h = out.pooler_output if pooled else out.last_hidden_state[:, 0]  # (B*C, H)
    scores = model.classifier(h)  # (B*C, 1)
    return scores.view(count, batch).T if transpose else scores.view(batch, count)  # (B, C)


def test_check_choice_logits_grades_right_wrong_and_library_call():
    result = assert_full_marks(check_choice_logits, choice_logits)
    assert result.total == 6 + 3 + 1
    assert_rejected(check_choice_logits, lambda *a: choice_logits(*a, transpose=True),
                    r"\[visible\] more questions than choices: choice scores .*values differ")
    assert_rejected(check_choice_logits, lambda *a: choice_logits(*a, segments=False),
                    r"\[visible\] two questions, three choices.*values differ")
    assert_rejected(check_choice_logits, lambda *a: choice_logits(*a, pooled=False),
                    r"values differ")
    assert_rejected(check_choice_logits, lambda *a: choice_logits(*a).reshape(-1),
                    r"shape \(6,\) differs from the library's \(2, 3\)")
    assert_library_call_caught(
        check_choice_logits, lambda i, m, t, model: model(i, attention_mask=m,
                                                          token_type_ids=t).logits,
        "BertForMultipleChoice.forward")


def test_padding_is_caught_only_by_the_cases_that_pad():
    def no_mask(input_ids, attention_mask, token_type_ids, model):
        return choice_logits(input_ids, torch.ones_like(attention_mask), token_type_ids, model)

    result = check_choice_logits(no_mask, raise_on_failure=False, seed=0)
    failed = {o.name for o in result.outcomes if not o.passed}
    assert "one question, five choices of different lengths" in failed
    assert "two questions, three choices, equal lengths" not in failed  # nothing to mask there


def test_hidden_cases_follow_the_seed():
    def names_and_messages(seed):
        wrong = check_choice_logits(lambda *a: choice_logits(*a, pooled=False), seed=seed,
                                    groups="hidden", raise_on_failure=False)
        return [(o.name, o.message) for o in wrong.outcomes]

    assert names_and_messages(7) == names_and_messages(7)
    assert names_and_messages(7) != names_and_messages(8)
