"""Chapter 12 checker (bertedu.testing.timing): attention on packed sequences, graded."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bertedu.model.unpadded import pack, varlen_attention
from bertedu.testing import check_varlen_attention
from bertedu.testing.model import padding_mask

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def per_sequence(q, k, v, lengths):
    outs = [F.scaled_dot_product_attention(qb.transpose(0, 1), kb.transpose(0, 1),
                                           vb.transpose(0, 1)).transpose(0, 1)  # (t, A, d)
            for qb, kb, vb in zip(q.split(lengths), k.split(lengths), v.split(lengths),
                                  strict=True)]
    return torch.cat(outs)  # (N, A, d)


def across_sequences(q, k, v, lengths):  # forgets the boundaries: one long sequence
    return per_sequence(q, k, v, [sum(lengths)])


def test_check_varlen_attention_grades_right_wrong_and_library_call():
    assert check_varlen_attention(per_sequence)  # the chapter's call still works and is truthy
    assert_full_marks(check_varlen_attention, per_sequence)
    result = assert_rejected(check_varlen_attention, across_sequences,
                             r"\[visible\] three sequences: lengths \[3, 5, 1\]")
    assert "one sequence" in {o.name for o in result.outcomes if o.passed}

    def cheat(q, k, v, lengths):
        return varlen_attention(q, k, v, pack(padding_mask(lengths, max(lengths))),
                                backend="loop")

    assert_library_call_caught(check_varlen_attention, cheat, "unpadded.varlen_attention")
