"""Part V checker: a linear layer in int8 by hand, right, wrong and calling the library."""

from __future__ import annotations

import torch

from bertedu.testing import check_int8_linear

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def int8_linear(x, weight, bias, qmax=127, symmetric_divisor=127.5):
    s_w = weight.abs().max() / symmetric_divisor
    w_q = torch.clamp(torch.round(weight * (1 / s_w)), -128, 127)  # (out, in)
    lo, hi = min(x.min().item(), 0.0), max(x.max().item(), 0.0)
    s_x = (hi - lo) / qmax
    z_x = round(-lo / s_x)
    x_q = torch.clamp(torch.round(x / s_x) + z_x, 0, qmax)  # (N, in)
    acc = (x_q.long() - z_x) @ w_q.long().T  # (N, out)
    return s_x * s_w * acc.float() + bias


def test_check_int8_linear_grades_right_wrong_and_library_call():
    assert_full_marks(check_int8_linear, int8_linear)
    assert_rejected(check_int8_linear, lambda x, w, b: x @ w.T + b, r"values differ")
    assert_rejected(check_int8_linear, lambda x, w, b: int8_linear(x, w, b, qmax=255),
                    r"\[visible\] .*values differ")
    assert_rejected(check_int8_linear, lambda x, w, b: int8_linear(x, w, b)[:, :1],
                    r"shape .* differs")

    def cheat(x, w, b):
        from bertedu.pipelines.export import quantize_int8

        layer = torch.nn.Linear(w.shape[1], w.shape[0])
        layer.weight.data, layer.bias.data = w, b
        return quantize_int8(torch.nn.Sequential(layer))[0](x)

    assert_library_call_caught(check_int8_linear, cheat, "export.quantize_int8")
