"""Chapter 20 checker: each rank's share of the global MLM loss, right, wrong and cheating."""

from __future__ import annotations

import torch

from bertedu.testing import check_rank_losses
from bertedu.training.distributed import Distributed

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def rank_losses(token_losses, picked):
    total = sum(p.sum() for p in picked)  # N, the global count
    return [(lo * p).sum() / total for lo, p in zip(token_losses, picked, strict=True)]


def test_check_rank_losses_grades_right_wrong_and_library_call():
    assert_full_marks(check_rank_losses, rank_losses)
    assert_full_marks(check_rank_losses, rank_losses, seed=777)  # other hidden cases


def test_check_rank_losses_rejects_local_means_and_nan_ranks():
    def local_mean_over_w(token_losses, picked):  # right only when every rank picks as many
        w = len(picked)
        return [lo[p].mean() / w for lo, p in zip(token_losses, picked, strict=True)]

    def local_sum(token_losses, picked):  # forgets to normalise
        return [(lo * p).sum() for lo, p in zip(token_losses, picked, strict=True)]

    def stacked(token_losses, picked):  # one tensor, not one loss per rank
        return torch.stack(rank_losses(token_losses, picked)).sum()

    assert_rejected(check_rank_losses, local_mean_over_w,
                    r"\[visible\] three ranks, uneven lengths: rank 0 of 3")
    assert_rejected(check_rank_losses, local_sum, r"\[visible\] two ranks, same length: rank 0")
    assert_rejected(check_rank_losses, stacked, r"expected a list of 2 losses")
    result = check_rank_losses(local_mean_over_w, raise_on_failure=False)
    assert any("no picked position" in f for f in result.failures), str(result)  # NaN rank


def test_check_rank_losses_catches_the_libraries_all_reduce():
    def with_all_reduce(token_losses, picked):
        total = Distributed().sum(sum(p.sum() for p in picked).float())
        return [(lo * p).sum() / total for lo, p in zip(token_losses, picked, strict=True)]

    assert_library_call_caught(check_rank_losses, with_all_reduce, "Distributed.sum")
