"""Empty inputs: an empty batch, empty first or second texts, under every truncation strategy.

Each bertedu tokenizer against its transformers twin. Where the twin gives up, bertedu raises a
``ValueError`` that names the problem: transformers' fast tokenizer raises a bare exception from
Rust, and its slow one logs an error and returns an untruncated example longer than
``max_length``. One case has no twin to follow: an empty batch ``[]`` crashes both transformers
tokenizers (``IndexError`` / ``ValueError``); both bertedu tokenizers return empty columns.
"""

import itertools

import pytest
import torch
import transformers

from bertedu import BertTokenizer, BertTokenizerFast
from tests.tokenization.test_slow import UNCASED_VOCAB, as_lists

HF_FAST = transformers.BertTokenizerFast(UNCASED_VOCAB, model_max_length=512)
HF_SLOW = transformers.BertTokenizer(UNCASED_VOCAB, model_max_length=512)
FAST, SLOW = BertTokenizerFast(UNCASED_VOCAB), BertTokenizer(UNCASED_VOCAB)

LONG = "the quick brown fox jumps over the lazy dog " * 8  # 72 words, far over 40
SHORT = "a short one"
FIRSTS, SECONDS = ["", SHORT, LONG], [None, "", SHORT, LONG]
STRATEGIES = ["longest_first", "only_first", "only_second", False]


@pytest.mark.parametrize("tok", [FAST, SLOW], ids=["fast", "slow"])
@pytest.mark.parametrize("kwargs", [{}, {"padding": True}, {"return_tensors": "pt"},
                                    {"truncation": True, "max_length": 8}])
def test_empty_batch_gives_empty_columns(tok, kwargs):
    with pytest.raises((IndexError, ValueError)):
        HF_FAST([], **kwargs)  # transformers has no answer to follow here
    enc = tok([], **kwargs)
    assert list(enc) == ["input_ids", "token_type_ids", "attention_mask"]
    if kwargs.get("return_tensors"):
        assert all(v.shape == (0, 0) and v.dtype == torch.long for v in enc.values())
    else:
        assert all(v == [] for v in enc.values())
    assert as_lists(FAST([], **kwargs)) == as_lists(SLOW([], **kwargs))


def call(tok, first, second, batched, **kwargs):
    if batched:
        return tok([first], None if second is None else [second], **kwargs)
    return tok(first, second, **kwargs)


def expect_like(ours, ref, args, kwargs, max_length) -> None:
    """``ours(*args)`` equals ``ref(*args)``, or raises ValueError where ``ref`` fails."""
    try:
        expected = call(ref, *args, **kwargs)
    except Exception:  # transformers' fast: a bare Exception from Rust
        expected = None
    ids = expected["input_ids"] if expected is not None else None
    if ids is not None and ids and isinstance(ids[0], list):
        ids = ids[0]
    if expected is None or (kwargs["truncation"] and len(ids) > max_length):
        with pytest.raises(ValueError, match="truncat"):
            call(ours, *args, **kwargs)
        return
    assert as_lists(call(ours, *args, **kwargs)) == as_lists(expected)


# every pair with an empty side, every strategy (only_second needs a second text)
EMPTY_CASES = [
    (a, b, t)
    for a, b, t in itertools.product(FIRSTS, SECONDS, STRATEGIES)
    if "" in (a, b) and not (t == "only_second" and b is None)
]


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("first,second,truncation", EMPTY_CASES)
def test_empty_sides_match_each_twin(first, second, truncation, batched):
    kwargs = dict(truncation=truncation, max_length=40, padding="max_length")
    expect_like(FAST, HF_FAST, (first, second, batched), kwargs, 40)
    expect_like(SLOW, HF_SLOW, (first, second, batched), kwargs, 40)


def test_issue_case_empty_second_text_fast():
    """The reported case: the fast tokenizer reads a lone ``text_pair=""`` as no pair."""
    kwargs = dict(truncation="longest_first", max_length=40, padding="max_length")
    ours, ref = FAST(LONG, "", **kwargs), HF_FAST(LONG, "", **kwargs)
    assert ours == ref
    assert ours["input_ids"].count(FAST.sep_token_id) == 1 and sum(ours["attention_mask"]) == 40
    assert SLOW(LONG, "", **kwargs) == HF_SLOW(LONG, "", **kwargs)  # the slow one: a pair


def test_empty_word_list_as_second_text():
    words = LONG.split()
    kwargs = dict(is_split_into_words=True, truncation=True, max_length=20)
    assert as_lists(FAST(words, [], **kwargs)) == as_lists(HF_FAST(words, [], **kwargs))
    assert FAST(words, [], **kwargs).word_ids() == HF_FAST(words, [], **kwargs).word_ids()
    # transformers' slow tokenizer refuses an empty word list; ours reads it as an empty text
    with pytest.raises(ValueError):
        HF_SLOW(words, [], **kwargs)
    assert as_lists(SLOW(words, [], **kwargs)) == as_lists(HF_SLOW(words, [""], **kwargs))


def test_only_second_without_pair():
    for tok in (FAST, SLOW):
        with pytest.raises(ValueError, match="only_second"):
            tok(LONG, truncation="only_second", max_length=40)
