"""Checker for chapter 12 (attention speed): attention on packed, unpadded sequences.

The student's per-sequence attention on ``(N, A, d)`` packed tokens must match
``bertedu.model.unpadded.varlen_attention`` (reference loop backend) to ``1e-5``.

References:
    Dao et al. (2022), FlashAttention (variable-length attention without padding).
"""

from __future__ import annotations


def check_varlen_attention(fn) -> bool:
    """Check a per-sequence attention on packed tokens against ``bertedu.model.unpadded``.

    ``fn(q, k, v, lengths)`` takes ``(N, A, d)`` packed queries, keys and values of sequences of
    the given ``lengths`` (``sum(lengths) == N``) and returns the ``(N, A, d)`` outputs where each
    sequence attends only to itself (no dropout).
    """
    import torch

    from ..model.unpadded import pack, varlen_attention

    g = torch.Generator().manual_seed(12)
    for lengths in ([3, 5, 1], [7], [2, 2, 2, 2]):
        mask = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
        for row, n in enumerate(lengths):
            mask[row, :n] = 1
        q, k, v = (torch.randn(sum(lengths), 2, 4, generator=g) for _ in range(3))
        expected = varlen_attention(q, k, v, pack(mask), backend="loop")
        got = fn(q, k, v, list(lengths))
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise AssertionError(f"lengths {lengths}: expected shape {tuple(expected.shape)}, "
                                 f"got {shape}")
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5,
                                   msg=lambda m, n=lengths: f"lengths {n}: {m}")
    return True
