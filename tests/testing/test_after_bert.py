"""Chapter 19 checker: ELECTRA's replaced-token-detection loss, right, wrong and cheating."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bertedu.testing import check_rtd_loss

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def rtd_loss(logits, input_ids, original_ids, attention_mask):
    real = attention_mask.bool()  # (B, T)
    y = (input_ids != original_ids).float()[real]  # (N,)
    z = logits[real]  # (N,)
    return -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean()


def test_check_rtd_loss_grades_right_wrong_and_library_call():
    assert_full_marks(check_rtd_loss, rtd_loss)
    assert_full_marks(check_rtd_loss, rtd_loss, seed=12345)  # other hidden cases, same verdict


def test_check_rtd_loss_rejects_padding_instability_and_the_wrong_reduction():
    def over_padding(logits, ids, original, mask):
        return rtd_loss(logits, ids, original, torch.ones_like(mask))

    def naive(logits, ids, original, mask):  # log(sigmoid(z)) underflows to -inf for large |z|
        real = mask.bool()
        y, p = (ids != original).float()[real], torch.sigmoid(logits[real])
        return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()

    def summed(logits, ids, original, mask):
        return rtd_loss(logits, ids, original, mask) * mask.sum()

    def flipped(logits, ids, original, mask):  # the "original" class scored as the positive one
        return rtd_loss(-logits, ids, original, mask)

    assert_rejected(check_rtd_loss, over_padding, r"\[visible\] a padded batch: loss .*differ")
    assert_rejected(check_rtd_loss, naive, r"\[edge\] confident logits .*: loss .*differ")
    assert_rejected(check_rtd_loss, summed, r"\[visible\] two full sequences: loss .*differ")
    assert_rejected(check_rtd_loss, flipped, r"values differ")
    assert_rejected(check_rtd_loss, lambda *a: rtd_loss(*a).reshape(1), r"shape \(1,\) differs")


def test_check_rtd_loss_catches_pytorchs_binary_cross_entropy():
    def with_functional(logits, ids, original, mask):
        real = mask.bool()
        return F.binary_cross_entropy_with_logits(logits[real], (ids != original).float()[real])

    def with_module(logits, ids, original, mask):
        real = mask.bool()
        return torch.nn.BCEWithLogitsLoss()(logits[real], (ids != original).float()[real])

    label = "functional.binary_cross_entropy_with_logits"
    assert_library_call_caught(check_rtd_loss, with_functional, label)
    assert_library_call_caught(check_rtd_loss, with_module, label)
    # the patch is lifted afterwards
    assert torch.isfinite(F.binary_cross_entropy_with_logits(torch.zeros(2), torch.ones(2)))
