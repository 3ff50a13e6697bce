"""Part V checker: the distillation loss, right, wrong and cheating."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bertedu.finetuning.distillation import distillation_loss as library_loss
from bertedu.testing import check_distillation_loss

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def distillation_loss(z_s, z_t, y, temperature, alpha, t_squared=True, stable=True):
    if stable:
        log_p_s, log_p_t = (z_s / temperature).log_softmax(-1), (z_t / temperature).log_softmax(-1)
    else:  # softmax by exp: overflows for large scores
        e_s, e_t = (z_s / temperature).exp(), (z_t / temperature).exp()
        log_p_s = (e_s / e_s.sum(-1, keepdim=True)).log()
        log_p_t = (e_t / e_t.sum(-1, keepdim=True)).log()
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(-1).mean()  # (B,) -> ()
    ce = -z_s.log_softmax(-1)[torch.arange(len(y)), y].mean()
    return alpha * (temperature ** 2 if t_squared else 1) * kl + (1 - alpha) * ce


def test_check_distillation_loss_grades_right_wrong_and_library_call():
    assert_full_marks(check_distillation_loss, distillation_loss)
    assert_rejected(check_distillation_loss,
                    lambda *a: distillation_loss(*a, t_squared=False),
                    r"\[visible\] two classes, T=2, alpha=0.5: loss .*values differ")
    assert_rejected(check_distillation_loss, lambda *a: distillation_loss(*a, stable=False),
                    r"\[edge\] scores of a few hundred .*values differ")
    assert_rejected(check_distillation_loss,
                    lambda z_s, z_t, y, T, a: distillation_loss(z_t, z_s, y, T, a),
                    r"values differ")  # KL the wrong way round
    assert_rejected(check_distillation_loss,
                    lambda *a: distillation_loss(*a).reshape(1), r"expected a scalar")
    assert_library_call_caught(
        check_distillation_loss,
        lambda z_s, z_t, y, T, a: a * T ** 2 * F.kl_div(
            (z_s / T).log_softmax(-1), (z_t / T).log_softmax(-1), reduction="batchmean",
            log_target=True) + (1 - a) * F.cross_entropy(z_s, y),
        "functional.kl_div")
    assert_library_call_caught(check_distillation_loss, lambda *a: library_loss(*a)[0],
                               "distillation.distillation_loss")
