"""The chapter-12 checker accepts a right per-sequence attention and rejects wrong ones."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bertedu.testing import check_varlen_attention


def per_sequence(q, k, v, lengths):
    """The exercise's solution: one SDPA call per sequence on ``(A, t, d)`` views."""
    outs = []
    for qb, kb, vb in zip(q.split(lengths), k.split(lengths), v.split(lengths), strict=True):
        out = F.scaled_dot_product_attention(qb.transpose(0, 1), kb.transpose(0, 1),
                                             vb.transpose(0, 1))  # (A, t, d)
        outs.append(out.transpose(0, 1))  # (t, A, d)
    return torch.cat(outs)  # (N, A, d)


def whole_batch(q, k, v, lengths):
    """Wrong: every token attends to every packed token, across sequence boundaries."""
    out = F.scaled_dot_product_attention(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1))
    return out.transpose(0, 1)  # (N, A, d)


def unscaled(q, k, v, lengths):
    """Wrong: the scores lack the 1/sqrt(d) factor."""
    return per_sequence(q * q.shape[-1] ** 0.5, k, v, lengths)


def test_right_solution_passes():
    assert check_varlen_attention(per_sequence)


@pytest.mark.parametrize("wrong, message", [
    (whole_batch, r"lengths \[3, 5, 1\]"),  # right for one sequence, wrong for three
    (unscaled, r"lengths \[3, 5, 1\]"),
    (lambda q, k, v, lengths: per_sequence(q, k, v, lengths)[:-1], "expected shape"),
    (lambda q, k, v, lengths: per_sequence(q, k, v, lengths).transpose(0, 1), "expected shape"),
    (lambda q, k, v, lengths: per_sequence(q, k, v, lengths).tolist(), "got list"),
])
def test_wrong_solutions_are_rejected_with_the_failing_case(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_varlen_attention(wrong)


def test_whole_batch_attention_is_right_only_for_one_sequence():
    """The checker's single-sequence case alone would not catch it: the packed cases do."""
    q, k, v = (torch.randn(7, 2, 4) for _ in range(3))
    torch.testing.assert_close(whole_batch(q, k, v, [7]), per_sequence(q, k, v, [7]))
    q, k, v = (torch.randn(8, 2, 4) for _ in range(3))
    assert not torch.allclose(whole_batch(q, k, v, [4, 4]), per_sequence(q, k, v, [4, 4]))
