"""Checkers for chapters 10-11 (pretraining data): pair truncation for NSP, MLM masking.

The checks are statistical where the procedure is random: over many seeded draws the student's
truncation must trim like the library's, and the masking must pick about 15% of the tokens and
split them 80/10/10 into [MASK], random and unchanged.

References:
    Devlin et al. (2018), BERT, section 3.1 (masked LM, task 1; next sentence prediction,
    task 2) and appendix A.1.
"""

from __future__ import annotations


def check_truncate_seq_pair(student_fn) -> bool:
    """Check ``student_fn(tokens_a, tokens_b, max_num_tokens, rng)`` (trims in place).

    Over many random pairs: the total fits, only the longer side is cut at each step (so the
    final lengths equal the library's), each side stays a contiguous piece of itself, and both
    the front and the back get trimmed.
    """
    import random

    from ..pretraining.nsp import truncate_seq_pair

    rng = random.Random(0)
    fronts = backs = 0
    for trial in range(300):
        a = list(range(rng.randint(1, 40)))
        b = list(range(1000, 1000 + rng.randint(1, 40)))
        max_num = rng.randint(2, 60)
        got_a, got_b, ref_a, ref_b = list(a), list(b), list(a), list(b)
        student_fn(got_a, got_b, max_num, random.Random(trial))
        truncate_seq_pair(ref_a, ref_b, max_num, random.Random(trial))
        where = f"(len(a)={len(a)}, len(b)={len(b)}, max_num_tokens={max_num})"
        if (len(got_a), len(got_b)) != (len(ref_a), len(ref_b)):
            raise AssertionError(
                f"lengths after truncation {where}: got {(len(got_a), len(got_b))}, expected "
                f"{(len(ref_a), len(ref_b))} (trim the longer list, one token at a time)"
            )
        for name, got, orig in (("tokens_a", got_a, a), ("tokens_b", got_b, b)):
            if got and got != orig[orig.index(got[0]) : orig.index(got[0]) + len(got)]:
                raise AssertionError(f"{name} is not a contiguous piece of the input {where}")
        fronts += bool(got_a) and got_a[0] != a[0]
        backs += bool(got_a) and got_a[-1] != a[-1]
    if fronts < 20 or backs < 20:
        raise AssertionError(
            f"tokens were trimmed from the front {fronts} times and from the back {backs} times; "
            "choose the end at random (rng.random() < 0.5)"
        )
    return True


def check_mask_tokens(student_fn) -> bool:
    """Check ``student_fn(input_ids, special_tokens_mask, mask_token_id, vocab_size,
    mlm_probability, generator) -> (masked_input_ids, labels)`` (all ``(B, T)`` tensors).

    On 200 x 128 random ids with 10% special positions: about 15% of the non-special tokens
    picked (+/- 0.01), never a special one; of the picked 80% [MASK], 10% random, 10% unchanged
    (+/- 0.015); labels the original ids at picked positions and -100 elsewhere; the input
    untouched elsewhere and not modified in place.
    """
    import torch

    g = torch.Generator().manual_seed(0)
    vocab, mask_id = 1000, 4
    ids = torch.randint(5, vocab, (200, 128), generator=g)  # (B, T)
    special = torch.rand(ids.shape, generator=g) < 0.1  # (B, T)
    before = ids.clone()
    out, labels = student_fn(ids, special, mask_id, vocab, 0.15, torch.Generator().manual_seed(1))
    if not torch.equal(ids, before):
        raise AssertionError("the input tensor was modified in place; clone it first")
    if out.shape != ids.shape or labels.shape != ids.shape:
        raise AssertionError(
            f"shapes {tuple(out.shape)}, {tuple(labels.shape)} differ from {tuple(ids.shape)}"
        )
    picked = labels != -100
    if (picked & special).any():
        raise AssertionError("a special token was picked for prediction")
    if not torch.equal(labels[picked], ids[picked]):
        raise AssertionError("labels must hold the original ids at the picked positions")
    if not torch.equal(out[~picked], ids[~picked]):
        raise AssertionError("positions that are not picked must stay unchanged")
    frac = picked.sum().item() / (~special).sum().item()
    if abs(frac - 0.15) > 0.01:
        raise AssertionError(f"{frac:.3f} of the non-special tokens were picked, expected 0.15")
    n = picked.sum().item()
    masked = (out[picked] == mask_id).sum().item() / n
    kept = (out[picked] == ids[picked]).sum().item() / n
    for name, value, target in (("[MASK]", masked, 0.8), ("random", 1 - masked - kept, 0.1),
                                ("unchanged", kept, 0.1)):
        if abs(value - target) > 0.015:
            raise AssertionError(f"{value:.3f} of the picked tokens are {name}, expected {target}")
    return True
