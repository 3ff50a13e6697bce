"""Checkers for Part V (from model to product): the distillation loss.

A student is trained on ``L = alpha T^2 KL(softmax(z_t / T) || softmax(z_s / T)) + (1 - alpha)
CE(z_s, y)``, the KL averaged over the batch (Hinton et al., 2015, section 2). The checker
compares a student's loss with :func:`bertedu.finetuning.distillation.distillation_loss` on
seeded scores, including scores large enough that ``exp`` overflows (log-softmax keeps them
finite), and catches a solution that calls the library's loss or ``torch.nn.functional.kl_div``.

References:
    Hinton, Vinyals and Dean (2015), "Distilling the Knowledge in a Neural Network", section 2.
"""

from __future__ import annotations

from .compare import assert_matches
from .result import Case, case_rng, checker


@checker("bertedu.finetuning.distillation.distillation_loss", "torch.nn.functional.kl_div")
def check_distillation_loss(seed: int) -> list[Case]:
    """Check ``student_fn(student_logits, teacher_logits, labels, temperature, alpha) -> loss``.

    ``student_logits`` and ``teacher_logits`` are ``(B, C)`` float tensors, ``labels`` ``(B,)``
    class ids; the answer is the scalar loss (a 0-dimensional tensor).
    """
    import torch

    from bertedu.finetuning.distillation import distillation_loss

    def case(name, group, batch, classes, temperature, alpha, index, scale=3.0):
        def body(call):
            g = torch.Generator().manual_seed(index)
            z_s = scale * torch.randn(batch, classes, generator=g)  # (B, C)
            z_t = scale * torch.randn(batch, classes, generator=g)  # (B, C)
            y = torch.randint(0, classes, (batch,), generator=g)  # (B,)
            expected, _ = distillation_loss(z_s, z_t, y, temperature, alpha)
            got = call(z_s.clone(), z_t.clone(), y.clone(), temperature, alpha)
            what = f"loss (B={batch}, C={classes}, T={temperature}, alpha={alpha})"
            if isinstance(got, torch.Tensor) and got.dim() != 0:
                raise AssertionError(f"{what}: expected a scalar, got shape {tuple(got.shape)}")
            assert_matches(what, got, expected)
        return Case(name, group, body)

    cases = [case("two classes, T=2, alpha=0.5", "visible", 4, 2, 2.0, 0.5, 0),
             case("five classes, T=4, alpha=0.9", "visible", 3, 5, 4.0, 0.9, 1),
             case("alpha=0: the hard loss alone", "edge", 5, 3, 3.0, 0.0, 2),
             case("alpha=1 and T=1: the soft loss alone, no T^2 effect", "edge", 5, 3, 1.0, 1.0,
                  3),
             case("a batch of one", "edge", 1, 2, 2.0, 0.5, 4),
             case("scores of a few hundred (exp overflows: use log-softmax)", "edge", 4, 3, 1.0,
                  0.5, 5, scale=300.0)]
    for i in range(3):
        rng = case_rng(seed, i)
        cases.append(case(f"random case {i}", "hidden", rng.randint(1, 8), rng.randint(2, 6),
                          rng.choice([0.5, 1.0, 2.0, 5.0, 10.0]), round(rng.random(), 2),
                          seed + i))
    return cases
