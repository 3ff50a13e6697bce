"""Checker for chapter 12 (attention speed): attention on packed, unpadded sequences.

The student's per-sequence attention on ``(N, A, d)`` packed tokens must match
``bertedu.model.unpadded.varlen_attention`` (reference loop backend) to ``1e-5``. Edge cases:
sequences of one token, a single sequence; hidden cases draw lengths, heads and widths.

References:
    Dao et al. (2022), FlashAttention (variable-length attention without padding).
"""

from __future__ import annotations

from .model import padding_mask
from .result import Case, case_rng, checker


@checker("bertedu.model.unpadded.varlen_attention")
def check_varlen_attention(seed: int) -> list[Case]:
    """Check a per-sequence attention on packed tokens against ``bertedu.model.unpadded``.

    ``fn(q, k, v, lengths)`` takes ``(N, A, d)`` packed queries, keys and values of sequences of
    the given ``lengths`` (``sum(lengths) == N``) and returns the ``(N, A, d)`` outputs where each
    sequence attends only to itself (no dropout).
    """
    import torch

    from bertedu.model.unpadded import pack, varlen_attention

    def case(name, group, lengths, heads, width, index):
        def body(call):
            g = torch.Generator().manual_seed(index)
            q, k, v = (torch.randn(sum(lengths), heads, width, generator=g) for _ in range(3))
            expected = varlen_attention(q, k, v, pack(padding_mask(lengths, max(lengths))),
                                        backend="loop")  # (N, A, d)
            got = call(q, k, v, list(lengths))
            if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                raise AssertionError(f"lengths {lengths}: expected shape "
                                     f"{tuple(expected.shape)}, got {shape}")
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5,
                                       msg=lambda m, n=lengths: f"lengths {n}: {m}")
        return Case(name, group, body)

    cases = [case("three sequences", "visible", [3, 5, 1], 2, 4, 12),
             case("one sequence", "visible", [7], 2, 4, 13),
             case("four equal sequences", "visible", [2, 2, 2, 2], 2, 4, 14),
             case("sequences of one token", "edge", [1, 1, 1], 3, 8, 15),
             case("a long and a short sequence", "edge", [30, 1], 1, 16, 16)]
    for i in range(3):
        rng = case_rng(seed, i)
        lengths = [rng.randint(1, 20) for _ in range(rng.randint(1, 5))]
        cases.append(case(f"random lengths {i}", "hidden", lengths, rng.randint(1, 4),
                          rng.choice([4, 8, 16]), seed + i))
    return cases
