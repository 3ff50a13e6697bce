"""Chapter 10 checkers: NSP pair truncation and MLM masking, right, wrong and cheating."""

from __future__ import annotations

import torch

from bertedu.pretraining.masking import DataCollatorForLanguageModeling
from bertedu.pretraining.nsp import truncate_seq_pair
from bertedu.testing import check_mask_tokens, check_truncate_seq_pair

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def truncate(tokens_a, tokens_b, max_num_tokens, rng, front=True):
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) >= len(tokens_b) else tokens_b
        if front and rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def test_check_truncate_seq_pair_grades_right_wrong_and_library_call():
    assert_full_marks(check_truncate_seq_pair, truncate)
    result = assert_rejected(check_truncate_seq_pair,
                             lambda a, b, n, rng: truncate(a, b, n, rng, front=False),
                             "trimmed from the front 0 times")
    assert "a long A, a short B" in {o.name for o in result.outcomes if o.passed}
    assert_rejected(check_truncate_seq_pair, lambda a, b, n, rng: (a.clear(), b.clear()),
                    r"\[visible\] a long A, a short B: lengths after truncation")
    assert_library_call_caught(check_truncate_seq_pair, truncate_seq_pair,
                               "nsp.truncate_seq_pair")


def mask_tokens(input_ids, special, mask_id, vocab_size, probability, generator, split=0.8):
    picked = torch.bernoulli(torch.full(input_ids.shape, probability).masked_fill(special, 0.0),
                             generator=generator).bool()  # (B, T)
    roll = torch.rand(input_ids.shape, generator=generator)  # (B, T)
    out = input_ids.clone()
    out[picked & (roll < split)] = mask_id
    swap = picked & (roll >= split) & (roll < (1 + split) / 2)
    out[swap] = torch.randint(vocab_size, input_ids.shape, generator=generator)[swap]
    return out, torch.where(picked, input_ids, -100)


class _Tokenizer:
    """Just what the library's collator reads from a tokenizer."""

    def __init__(self, mask_id, vocab_size):
        self.mask_token_id, self.pad_token_id, self.all_special_ids = mask_id, 0, [0, mask_id]
        self.mask_token, self.pad_token, self.vocab_size = "[MASK]", "[PAD]", vocab_size

    def __len__(self):
        return self.vocab_size


def test_check_mask_tokens_grades_right_wrong_and_library_call():
    assert_full_marks(check_mask_tokens, mask_tokens)
    assert_rejected(check_mask_tokens, lambda *a: mask_tokens(*a, split=0.9),
                    r"\[visible\] 15% of 200 x 128 tokens: 0\.\d+ of the picked tokens "
                    r"are \[MASK\]")
    assert_rejected(check_mask_tokens, lambda i, s, *a: mask_tokens(i, s & False, *a),
                    "a special token was picked")

    def cheat(input_ids, special, mask_id, vocab_size, probability, generator):
        if probability == 0:
            return input_ids.clone(), torch.full_like(input_ids, -100)
        collator = DataCollatorForLanguageModeling(_Tokenizer(mask_id, vocab_size),
                                                   mlm_probability=probability,
                                                   generator=generator)
        return collator.torch_mask_tokens(input_ids, special)

    assert_library_call_caught(check_mask_tokens, cheat,
                               "DataCollatorForLanguageModeling.torch_mask_tokens")
