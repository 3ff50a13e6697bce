"""Chapter 11 checkers: the warmup + linear-decay schedule and the weight-decay groups."""

from __future__ import annotations

from bertedu.testing import check_lr_schedule, check_param_groups
from bertedu.training.optimization import linear_warmup_decay, param_groups

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def schedule(warmup, total, decay_to=None):
    end = total if decay_to is None else decay_to

    def factor(step):
        if step < warmup:
            return step / warmup
        return max(0.0, (end - step) / max(1, end - warmup))

    return factor


def test_check_lr_schedule_grades_right_wrong_and_library_call():
    assert_full_marks(check_lr_schedule, schedule)
    assert_rejected(check_lr_schedule, lambda w, t: schedule(w, t, decay_to=2 * t),
                    r"\[visible\] 10 warmup steps of 100: warmup=10, total=100: "
                    r"factor\(11\) is 0.99")
    result = assert_rejected(check_lr_schedule,
                             lambda w, t: (lambda s: min(s / w, (t - s) / (t - w))),
                             r"\[edge\] no warmup: raised ZeroDivisionError", groups="edge")
    assert result.passed < result.total
    assert_library_call_caught(check_lr_schedule, linear_warmup_decay,
                               "optimization.linear_warmup_decay")


def groups(model, weight_decay, everything=False, frozen_too=False):
    decay, rest = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad and not frozen_too:
            continue
        if not everything and (name.endswith("bias") or "LayerNorm" in name):
            rest.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0}]


def test_check_param_groups_grades_right_wrong_and_library_call():
    assert_full_marks(check_param_groups, groups)
    assert_rejected(check_param_groups, lambda m, wd: groups(m, wd, everything=True),
                    r"\[visible\] BertForPreTraining .*LayerNorm.weight: weight decay 0.01, "
                    "expected 0.0")
    result = assert_rejected(check_param_groups, lambda m, wd: groups(m, wd, frozen_too=True),
                             r"\[edge\] frozen word embeddings: .*word_embeddings.weight should "
                             "not be optimised", groups=("visible", "edge"))
    assert result.passed == result.total - 2  # both frozen cases, only them

    def tied_twice(model, weight_decay):
        named = model.named_parameters(remove_duplicate=False)
        return [{"params": [p for _, p in named], "weight_decay": weight_decay}]

    assert_rejected(check_param_groups, tied_twice, "appears twice")
    assert_library_call_caught(check_param_groups, param_groups, "optimization.param_groups")
