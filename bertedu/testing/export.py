"""Checkers for Part V (export and int8): a linear layer computed in 8-bit integers.

Dynamic int8 quantization as PyTorch's x86 kernels do it (Jacob et al., 2018, section 2): the
weight gets one symmetric scale ``s_W = max|W| / 127.5`` and ``W_q = round(W / s_W)`` in
``[-128, 127]``; the input gets an affine scale and zero point from its own range on 7 bits,
``s_X = (max(0, max X) - min(0, min X)) / 127``, ``z_X = round(-min(0, min X) / s_X)``,
``X_q = clamp(round(X / s_X) + z_X, 0, 127)``; then ``Y = s_X s_W (X_q - z_X) W_q^T + b``.
The checker compares a student's ``Y`` with PyTorch's quantized ``Linear`` on seeded layers.

References:
    Jacob et al. (2018), Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference, section 2.
"""

from __future__ import annotations

from .compare import assert_matches
from .result import Case, case_rng, checker


@checker("bertedu.pipelines.export.quantize_int8",
         "torch.ao.nn.quantized.dynamic.modules.linear.Linear.forward")
def check_int8_linear(seed: int) -> list[Case]:
    """Check ``student_fn(x, weight, bias) -> y`` against PyTorch's dynamic int8 ``Linear``.

    ``x`` is ``(N, in)``, ``weight`` ``(out, in)`` and ``bias`` ``(out,)``, all float32; the
    student returns the ``(N, out)`` float32 output of the int8 computation, without calling
    ``quantize_int8`` or a quantized module.
    """
    import torch
    from torch import nn

    from bertedu.pipelines.export import quantize_int8

    def case(name, group, n, d_in, d_out, index, shift=0.0, scale=1.0):
        def body(call):
            g = torch.Generator().manual_seed(index)
            layer = nn.Linear(d_in, d_out)
            with torch.no_grad():
                layer.weight.copy_(torch.randn(d_out, d_in, generator=g) * 0.2)
                layer.bias.copy_(torch.randn(d_out, generator=g))
            x = torch.randn(n, d_in, generator=g) * scale + shift  # (N, in)
            with torch.no_grad():
                expected = quantize_int8(nn.Sequential(layer), engine="x86")[0](x)  # (N, out)
                got = call(x.clone(), layer.weight.detach().clone(), layer.bias.detach().clone())
            assert_matches(f"int8 output ({n}x{d_in} -> {d_out}, inputs shifted by {shift})",
                           got, expected, atol=1e-4, rtol=1e-4)
        return Case(name, group, body)

    cases = [case("one token, 8 -> 4", "visible", 1, 8, 4, 0),
             case("a batch of 16 rows, 32 -> 24", "visible", 16, 32, 24, 1),
             case("all inputs positive (zero point 0)", "edge", 5, 16, 8, 2, shift=5.0),
             case("all inputs negative (zero point 127)", "edge", 5, 16, 8, 3, shift=-5.0),
             case("tiny inputs", "edge", 4, 12, 6, 4, scale=1e-3)]
    for i in range(3):
        rng = case_rng(seed, i)
        cases.append(case(f"random layer {i}", "hidden", rng.randint(1, 20), rng.randint(2, 48),
                          rng.randint(1, 40), seed + i, shift=rng.uniform(-1, 1),
                          scale=rng.uniform(0.1, 3)))
    return cases
