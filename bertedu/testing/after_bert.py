"""Checker for chapter 19 (after BERT): ELECTRA's replaced-token-detection loss.

ELECTRA's discriminator reads a sequence in which a generator has replaced some tokens, and
predicts at every real position ``t`` whether the token is a replacement (``y_t = 1``) or the
original (``y_t = 0``; a sampled token equal to the original counts as original). Its loss is the
binary cross-entropy of the logits ``z_t`` averaged over the real (non-padding) tokens:

$$ L_D = -\\frac{1}{N}\\sum_{t\\,:\\,m_t = 1}
         \\big[y_t \\log\\sigma(z_t) + (1 - y_t)\\log(1 - \\sigma(z_t))\\big],
   \\qquad N = \\sum_t m_t $$

computed stably as ``log sigma(z) = logsigmoid(z)`` and ``log(1 - sigma(z)) = logsigmoid(-z)``,
so that a confident logit (|z| of a few hundred) gives a finite loss. The student builds it from
tensor operations; PyTorch's own binary cross-entropy is patched to raise in the library case.

References:
    Clark et al. (2020), ELECTRA, section 2 (the discriminator loss L_Disc).
"""

from __future__ import annotations

from .compare import assert_matches
from .result import Case, case_rng, checker


@checker("torch.nn.functional.binary_cross_entropy_with_logits",
         "torch.nn.functional.binary_cross_entropy",
         "torch.binary_cross_entropy_with_logits")
def check_rtd_loss(seed: int) -> list[Case]:
    """Check ``student_fn(logits, input_ids, original_ids, attention_mask) -> loss``.

    ``logits`` ``(B, T)`` float, the discriminator's "replaced" score per token; ``input_ids``
    ``(B, T)`` the corrupted sequence it read; ``original_ids`` ``(B, T)`` the text before the
    generator's replacements; ``attention_mask`` ``(B, T)`` 1 on real tokens, 0 on padding. The
    loss is a 0-dimensional tensor: the mean binary cross-entropy over the real tokens.
    """
    import torch
    import torch.nn.functional as F

    def case(name, group, lengths, replace, scale, index, same_guess=0.0):
        def body(call):
            g = torch.Generator().manual_seed(index)
            B, T = len(lengths), max(lengths)
            mask = (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]).long()  # (B, T)
            original = torch.randint(5, 50, (B, T), generator=g)  # (B, T)
            replaced = torch.rand(B, T, generator=g) < replace  # (B, T): the generator's picks
            guesses = torch.randint(5, 50, (B, T), generator=g)
            # some guesses are the original token itself: those positions count as original
            correct = torch.rand(B, T, generator=g) < same_guess
            guesses = torch.where(correct, original, guesses)
            corrupted = torch.where(replaced, guesses, original)  # (B, T)
            corrupted = torch.where(mask.bool(), corrupted, 0)  # [PAD] = 0 on padding
            logits = scale * torch.randn(B, T, generator=g)  # (B, T)
            logits = logits.masked_fill(~mask.bool(), 100.0)  # padding logits that must not count
            real = mask.bool()
            expected = F.binary_cross_entropy_with_logits(
                logits[real].double(), (corrupted != original)[real].double()).float()
            got = call(logits.clone(), corrupted.clone(), original.clone(), mask.clone())
            assert_matches(f"loss (lengths {lengths}, logit scale {scale})", got, expected)
        return Case(name, group, body)

    cases = [case("two full sequences", "visible", [6, 6], 0.3, 1.0, 0),
             case("a padded batch", "visible", [7, 3, 5], 0.3, 2.0, 1),
             case("length 1", "edge", [1], 1.0, 1.0, 2),
             case("a row of one token and padding", "edge", [9, 1], 0.3, 1.0, 3),
             case("nothing replaced", "edge", [5, 4], 0.0, 1.0, 4),
             case("confident logits (|z| ~ 300): stay finite", "edge", [6, 6], 0.5, 300.0, 5),
             case("guesses equal to the original count as original", "edge", [8, 8], 0.9, 1.0,
                  6, same_guess=0.5)]
    for i in range(3):
        rng = case_rng(seed, i)
        lengths = [rng.randint(1, 16) for _ in range(rng.randint(1, 5))]
        cases.append(case(f"random batch {i}", "hidden", lengths, rng.uniform(0.05, 0.6),
                          rng.choice([0.5, 1.0, 3.0]), seed + i, same_guess=rng.uniform(0, 0.3)))
    return cases
