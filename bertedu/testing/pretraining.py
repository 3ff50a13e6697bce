"""Checkers for chapter 10 (pretraining data): pair truncation for NSP, MLM masking.

The checks are statistical where the procedure is random: over many seeded draws the student's
truncation must trim like the library's, and the masking must pick about 15% of the tokens and
split them 80/10/10 into [MASK], random and unchanged. Edge cases: pairs that already fit, an
empty side, a budget of 1; no token to pick, a batch of one token.

References:
    Devlin et al. (2018), BERT, section 3.1 (masked LM, task 1; next sentence prediction,
    task 2) and appendix A.1.
"""

from __future__ import annotations

import random

from .result import Case, case_rng, checker


def _truncation_trial(call, a_len: int, b_len: int, max_num: int, trial: int) -> tuple:
    """Run student and library on one pair; return (trimmed from the front, from the back)."""
    from bertedu.pretraining.nsp import truncate_seq_pair

    a, b = list(range(a_len)), list(range(1000, 1000 + b_len))
    got_a, got_b, ref_a, ref_b = list(a), list(b), list(a), list(b)
    call(got_a, got_b, max_num, random.Random(trial))
    truncate_seq_pair(ref_a, ref_b, max_num, random.Random(trial))
    where = f"(len(a)={a_len}, len(b)={b_len}, max_num_tokens={max_num})"
    if (len(got_a), len(got_b)) != (len(ref_a), len(ref_b)):
        raise AssertionError(
            f"lengths after truncation {where}: got {(len(got_a), len(got_b))}, expected "
            f"{(len(ref_a), len(ref_b))} (trim the longer list in place, one token at a time)")
    for name, got, orig in (("tokens_a", got_a, a), ("tokens_b", got_b, b)):
        if got and got != orig[orig.index(got[0]):orig.index(got[0]) + len(got)]:
            raise AssertionError(f"{name} is not a contiguous piece of the input {where}")
    return bool(got_a) and got_a[0] != a[0], bool(got_a) and got_a[-1] != a[-1]


@checker("bertedu.pretraining.nsp.truncate_seq_pair")
def check_truncate_seq_pair(seed: int) -> list[Case]:
    """Check ``student_fn(tokens_a, tokens_b, max_num_tokens, rng)`` (trims in place).

    The total must fit, only the longer side is cut at each step (so the final lengths equal the
    library's), each side stays a contiguous piece of itself, and over many pairs both the front
    and the back get trimmed (``rng.random() < 0.5`` picks the end).
    """

    def fixed(name, group, pairs):
        def body(call):
            for trial, (a_len, b_len, max_num) in enumerate(pairs):
                _truncation_trial(call, a_len, b_len, max_num, trial)
        return Case(name, group, body)

    def many(name, group, base):
        def body(call):
            rng, ends = random.Random(base), [0, 0]
            for trial in range(300):
                front, back = _truncation_trial(call, rng.randint(1, 40), rng.randint(1, 40),
                                                rng.randint(2, 60), base + trial)
                ends[0] += front
                ends[1] += back
            if min(ends) < 20:
                raise AssertionError(f"over 300 pairs tokens were trimmed from the front {ends[0]} "
                                     f"times and from the back {ends[1]} times; choose the end "
                                     "at random with rng.random() < 0.5")
        return Case(name, group, body)

    rng = case_rng(seed, 0)
    return [fixed("a long A, a short B", "visible", [(20, 5, 12), (5, 20, 12), (9, 9, 10)]),
            many("300 pairs: lengths and both ends", "visible", 0),
            fixed("a pair that already fits", "edge", [(3, 4, 7), (0, 0, 0)]),
            fixed("an empty side", "edge", [(10, 0, 4), (0, 10, 4)]),
            fixed("a budget of 1", "edge", [(5, 5, 1), (1, 1, 1)]),
            many("300 random pairs", "hidden", rng.randrange(10**6))]


def _masking_stats(call, shape, special_rate, probability, seed):
    """Run the student's masking; return (ids, special, out, labels) after the basic checks."""
    import torch

    g = torch.Generator().manual_seed(seed)
    vocab, mask_id = 1000, 4
    ids = torch.randint(5, vocab, shape, generator=g)  # (B, T)
    special = torch.rand(shape, generator=g) < special_rate  # (B, T)
    before = ids.clone()
    out, labels = call(ids, special, mask_id, vocab, probability,
                       torch.Generator().manual_seed(seed + 1))
    if not torch.equal(ids, before):
        raise AssertionError("the input tensor was modified in place; clone it first")
    if out.shape != ids.shape or labels.shape != ids.shape:
        raise AssertionError(
            f"shapes {tuple(out.shape)}, {tuple(labels.shape)} differ from {tuple(ids.shape)}")
    picked = labels != -100
    if (picked & special).any():
        raise AssertionError("a special token was picked for prediction")
    if not torch.equal(labels[picked], ids[picked]):
        raise AssertionError("labels must hold the original ids at the picked positions")
    if not torch.equal(out[~picked], ids[~picked]):
        raise AssertionError("positions that are not picked must stay unchanged")
    return ids, special, out, picked, mask_id


def _tolerance(rate: float, count: int, floor: float) -> float:
    """Four standard errors of a rate measured on ``count`` draws (a right answer fails ~1e-4)."""
    return max(floor, 4 * (rate * (1 - rate) / max(count, 1)) ** 0.5)


@checker("bertedu.pretraining.masking.DataCollatorForLanguageModeling.torch_mask_tokens")
def check_mask_tokens(seed: int) -> list[Case]:
    """Check ``student_fn(input_ids, special_tokens_mask, mask_token_id, vocab_size,
    mlm_probability, generator) -> (masked_input_ids, labels)`` (all ``(B, T)`` tensors).

    About ``mlm_probability`` of the non-special tokens picked (on 200 x 128 ids, within four
    standard errors and at least 0.01), never a special one; of the picked 80% [MASK], 10% random,
    10% unchanged (four standard errors, at least 0.015); labels the
    original ids at picked positions and -100 elsewhere; the input untouched and not modified in
    place.
    """

    def rates(name, group, probability, stream):
        def body(call):
            ids, special, out, picked, mask_id = _masking_stats(call, (200, 128), 0.1,
                                                                probability, stream)
            candidates = (~special).sum().item()
            frac = picked.sum().item() / candidates
            if abs(frac - probability) > _tolerance(probability, candidates, 0.01):
                raise AssertionError(f"{frac:.3f} of the non-special tokens were picked, "
                                     f"expected {probability}")
            n = picked.sum().item()
            masked = (out[picked] == mask_id).sum().item() / n
            kept = (out[picked] == ids[picked]).sum().item() / n
            for what, value, target in (("[MASK]", masked, 0.8), ("random", 1 - masked - kept, 0.1),
                                        ("unchanged", kept, 0.1)):
                if abs(value - target) > _tolerance(target, n, 0.015):
                    raise AssertionError(f"{value:.3f} of the picked tokens are {what}, "
                                         f"expected {target}")
        return Case(name, group, body)

    def nothing_picked(name, special_rate, probability):
        def body(call):
            _, _, _, picked, _ = _masking_stats(call, (4, 16), special_rate, probability, 3)
            if picked.any():
                raise AssertionError(f"{int(picked.sum())} tokens picked, expected none")
        return Case(name, "edge", body)

    def tiny(name, shape):
        def body(call):  # the shape, label and unchanged-position rules on a tiny batch
            _masking_stats(call, shape, 0.0, 0.5, 4)
        return Case(name, "edge", body)

    rng = case_rng(seed, 0)
    return [rates("15% of 200 x 128 tokens", "visible", 0.15, 0),
            rates("30% of 200 x 128 tokens", "visible", 0.3, 10),
            nothing_picked("every token special", 1.1, 0.15),
            tiny("a single token", (1, 1)),
            rates("a random probability", "hidden", round(rng.uniform(0.1, 0.4), 3),
                  rng.randrange(10**6))]
