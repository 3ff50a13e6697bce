"""Pre-tokenized input (``is_split_into_words=True``) and the word/segment alignment of the output.

Both bertedu tokenizers against transformers: the fields against each one's transformers twin,
and the alignment (``word_ids``, ``sequence_ids``, ``word_to_tokens``, ``token_to_word``,
``token_to_sequence``) of both against transformers' fast tokenizer, the only one there that has
it. Words: real WNUT-17 tweets (the built-in sentences split on spaces when the data is absent).
"""

import json

import pytest
import transformers

from bertedu import BertTokenizer, BertTokenizerFast
from tests.tokenization.test_slow import TEXTS, UNCASED_VOCAB, as_lists, data_dir

HF_FAST = transformers.BertTokenizerFast(UNCASED_VOCAB, model_max_length=512)
HF_SLOW = transformers.BertTokenizer(UNCASED_VOCAB, model_max_length=512)
FAST, SLOW = BertTokenizerFast(UNCASED_VOCAB), BertTokenizer(UNCASED_VOCAB)


def tweets(n: int = 40) -> list[list[str]]:
    path = data_dir() / "wnut_17" / "validation.jsonl"
    if not path.is_file():
        return [t.split() for t in TEXTS if t.split()][:n]
    with open(path, encoding="utf-8") as f:
        return [json.loads(next(f))["tokens"] for _ in range(n)]


WORDS = tweets()
# a word list with words that give no piece at all (a control character, a lone space)
ODD = ["hello", "\x00", " ", "naïve", "[SEP]", "", "world!!", "🤗"]

CASES = {
    "batch": ((WORDS,), {}),
    "single": ((WORDS[0],), {}),
    "odd_words": ((ODD,), {}),
    "pair": ((WORDS[1], WORDS[2]), {}),
    "batch_of_pairs": ((WORDS[:10], WORDS[10:20]), {}),
    "batch_padded": ((WORDS,), {"padding": True}),
    "batch_truncated": ((WORDS,), {"padding": "max_length", "truncation": True, "max_length": 16}),
    "pairs_only_second": (
        ([w[:2] for w in WORDS[:10]], WORDS[10:20]),
        {"padding": True, "truncation": "only_second", "max_length": 20},
    ),
    "pairs_only_first": (
        (WORDS[:10], [w[:2] for w in WORDS[10:20]]),
        {"padding": True, "truncation": "only_first", "max_length": 20},
    ),
    "no_specials": ((WORDS[:5],), {"add_special_tokens": False, "padding": True}),
}


def rows(encoding) -> int:
    ids = encoding["input_ids"]
    return len(ids) if ids and isinstance(ids[0], list) else 1


def assert_same_alignment(ours, ref) -> None:
    """Every alignment query of ``ours`` answers like transformers' fast ``ref``."""
    assert rows(ours) == rows(ref)
    for b in range(rows(ref)):
        word_ids, sequence_ids = ref.word_ids(b), ref.sequence_ids(b)
        assert ours.word_ids(b) == word_ids, b
        assert ours.sequence_ids(b) == sequence_ids, b
        assert ours.tokens(b) == ref.tokens(b), b
        for t in range(len(word_ids)):
            assert ours.token_to_word(b, t) == ref.token_to_word(b, t)
            assert ours.token_to_sequence(b, t) == ref.token_to_sequence(b, t)
        for seq in (0, 1):
            for w in range(max((x for x in word_ids if x is not None), default=-1) + 2):
                assert ours.word_to_tokens(b, w, seq) == ref.word_to_tokens(b, w, seq), (b, w)
    assert ours.token_to_word(1) == ref.token_to_word(1)  # one index: row 0
    assert ours.word_to_tokens(0) == ref.word_to_tokens(0)


@pytest.mark.parametrize("case", list(CASES))
def test_fast_split_words_match_transformers_fast(case):
    args, kwargs = CASES[case]
    ours = FAST(*args, is_split_into_words=True, **kwargs)
    ref = HF_FAST(*args, is_split_into_words=True, **kwargs)
    assert as_lists(ours) == as_lists(ref)
    assert_same_alignment(ours, ref)


@pytest.mark.parametrize("case", list(CASES))
def test_slow_split_words_match_transformers_slow_and_align_like_fast(case):
    args, kwargs = CASES[case]
    ours = SLOW(*args, is_split_into_words=True, **kwargs)
    assert as_lists(ours) == as_lists(HF_SLOW(*args, is_split_into_words=True, **kwargs))
    assert_same_alignment(ours, HF_FAST(*args, is_split_into_words=True, **kwargs))


def test_raw_text_words_are_the_pre_tokenizer_units():
    """On raw text a word is a pre-tokenizer unit: both tokenizers agree with transformers' fast."""
    texts = TEXTS[:200]
    ref = HF_FAST(texts, texts[::-1], padding=True)
    for ours in (FAST, SLOW):
        assert_same_alignment(ours(texts, texts[::-1], padding=True), ref)


def test_token_ids_as_input_have_no_words():
    enc = SLOW([7592, 2088])
    with pytest.raises(ValueError, match="alignment"):
        enc.word_ids(0)


def test_split_words_bad_input():
    for tok in (FAST, SLOW):
        with pytest.raises(TypeError, match="list of str"):
            tok([["hello", 3]], is_split_into_words=True)


def test_a_batch_mixing_ids_and_text():
    batch = [("hi", "you"), ("hello there", [7592])]
    enc = SLOW(batch, padding=True)
    assert as_lists(enc) == as_lists(HF_SLOW(batch, padding=True))  # no private column leaks
    with pytest.raises(ValueError, match="alignment"):
        enc.word_ids(0)
