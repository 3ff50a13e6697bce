"""Checker for chapter 20 (pretraining past one machine): each rank's share of the global loss.

Under data parallelism each of the ``W`` ranks holds a piece of the global batch. Rank ``r``
has per-position MLM losses ``l_{r,t}`` and a mask ``m_{r,t}`` of the picked positions. One
process with the whole batch would minimise the mean over all picked positions,

$$ L = \\frac{\\sum_r \\sum_t m_{r,t}\\, l_{r,t}}{N}, \\qquad N = \\sum_r \\sum_t m_{r,t}, $$

and because gradients are summed across ranks by the all-reduce, rank ``r`` must contribute
``L_r = \\sum_t m_{r,t} l_{r,t} / N``: its own sum over the *global* count, not its local mean
(which weights a rank with few picked positions as much as one with many). A rank with no picked
position contributes 0. The library does this with ``mlm_normalizer`` (the all-reduced count) in
``bertedu.pretraining.objective.pretraining_losses``; the count's all-reduce is
``bertedu.training.distributed.Distributed.sum``. Both are patched to raise in the library case.

References:
    Li et al. (2020), "PyTorch Distributed: Experiences on Accelerating Data Parallel Training",
    section 3 (gradient reduction); Devlin et al. (2019), section 3.1 (the MLM loss).
"""

from __future__ import annotations

from .compare import assert_matches
from .result import Case, case_rng, checker


@checker("bertedu.training.distributed.Distributed.sum",
         "bertedu.pretraining.objective.pretraining_losses")
def check_rank_losses(seed: int) -> list[Case]:
    """Check ``student_fn(token_losses, picked) -> list of 0-d tensors``.

    ``token_losses`` is a list of ``W`` float tensors (one per rank, shape ``(T_r,)``);
    ``picked`` the matching list of boolean tensors. The answer is one scalar per rank whose sum
    over ranks equals the mean of the losses at every picked position of every rank.
    """
    import torch

    def case(name, group, lengths, p_pick, index, empty_rank=None):
        def body(call):
            g = torch.Generator().manual_seed(index)
            losses = [5 * torch.rand(n, generator=g) for n in lengths]
            picked = [torch.rand(n, generator=g) < p_pick for n in lengths]
            if empty_rank is not None:
                picked[empty_rank] = torch.zeros(lengths[empty_rank], dtype=torch.bool)
            if not any(bool(p.any()) for p in picked):
                picked[0][0] = True
            total = sum(int(p.sum()) for p in picked)
            expected = [(lo * p).sum() / total for lo, p in zip(losses, picked, strict=True)]
            got = call([lo.clone() for lo in losses], [p.clone() for p in picked])
            if not isinstance(got, (list, tuple)) or len(got) != len(lengths):
                raise AssertionError(f"expected a list of {len(lengths)} losses (one per rank), "
                                     f"got {type(got).__name__}"
                                     + (f" of {len(got)}" if isinstance(got, (list, tuple))
                                        else ""))
            for r, (a, b) in enumerate(zip(got, expected, strict=True)):
                assert_matches(f"rank {r} of {len(lengths)} (lengths {lengths})", a, b)
            whole = torch.cat([lo[p] for lo, p in zip(losses, picked, strict=True)]).mean()
            assert_matches("the sum over ranks against one process's mean", sum(got), whole)
        return Case(name, group, body)

    cases = [case("two ranks, same length", "visible", [40, 40], 0.15, 0),
             case("three ranks, uneven lengths", "visible", [50, 12, 30], 0.15, 1),
             case("one rank: the plain mean", "edge", [25], 0.2, 2),
             case("a rank with no picked position contributes 0", "edge", [30, 30, 30], 0.2, 3,
                  empty_rank=1),
             case("every position picked", "edge", [7, 3], 1.0, 4),
             case("length 1 on one rank", "edge", [1, 60], 0.3, 5)]
    for i in range(3):
        rng = case_rng(seed, i)
        lengths = [rng.randint(1, 80) for _ in range(rng.randint(2, 8))]
        cases.append(case(f"random ranks {i}", "hidden", lengths, rng.uniform(0.05, 0.5),
                          seed + i))
    return cases
