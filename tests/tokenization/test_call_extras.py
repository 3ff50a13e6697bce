"""Smaller parts of transformers' tokenizer API: numpy tensors, ``tokenize`` with special
tokens, ``pad`` with a renamed ids column; each bertedu tokenizer against its transformers twin.
"""

import numpy as np
import pytest
import transformers

from bertedu import BertTokenizer, BertTokenizerFast
from tests.tokenization.test_slow import TEXTS, UNCASED_VOCAB, as_lists

TWINS = {
    "fast": (BertTokenizerFast(UNCASED_VOCAB),
             transformers.BertTokenizerFast(UNCASED_VOCAB, model_max_length=512)),
    "slow": (BertTokenizer(UNCASED_VOCAB),
             transformers.BertTokenizer(UNCASED_VOCAB, model_max_length=512)),
}


@pytest.mark.parametrize("kind", list(TWINS))
@pytest.mark.parametrize("args,kwargs", [
    ((TEXTS[:6],), dict(padding=True, truncation=True, max_length=16)),
    ((TEXTS[0],), {}),
    ((TEXTS[:3], TEXTS[3:6]), dict(padding="max_length", max_length=64, truncation=True,
                                   return_special_tokens_mask=True)),
])
def test_numpy_tensors_are_int64_like_transformers(kind, args, kwargs):
    ours, ref = TWINS[kind]
    got, expected = ours(*args, return_tensors="np", **kwargs), ref(*args, return_tensors="np",
                                                                    **kwargs)
    assert set(got) == set(expected)
    for key in expected:
        assert isinstance(got[key], np.ndarray) and got[key].dtype == np.int64, key
        np.testing.assert_array_equal(got[key], expected[key])
    features = [dict(ours(t)) for t in TEXTS[:4]]
    padded, ref_padded = ours.pad(features, return_tensors="np"), ref.pad(features,
                                                                         return_tensors="np")
    for key in ref_padded:
        assert padded[key].dtype == np.int64
        np.testing.assert_array_equal(padded[key], ref_padded[key])


def test_numpy_offsets_and_windows_fast():
    ours, ref = TWINS["fast"]
    kwargs = dict(truncation=True, max_length=12, stride=2, padding=True,
                  return_overflowing_tokens=True, return_offsets_mapping=True, return_tensors="np")
    got, expected = ours(TEXTS[:4], **kwargs), ref(TEXTS[:4], **kwargs)
    for key in expected:
        assert got[key].dtype == expected[key].dtype == np.int64
        np.testing.assert_array_equal(got[key], expected[key])


def test_fast_tokenize_with_special_tokens():
    ours, ref = TWINS["fast"]
    for text, pair in [(TEXTS[0], None), (TEXTS[1], TEXTS[2]), ("", None)]:
        for add in (False, True):
            assert ours.tokenize(text, pair, add_special_tokens=add) == ref.tokenize(
                text, pair, add_special_tokens=add)
    assert ours.tokenize("hello", pair="world") == ref.tokenize("hello", pair="world")


@pytest.mark.parametrize("kind", list(TWINS))
def test_pad_with_a_renamed_ids_column(kind):
    ours, ref = TWINS[kind]
    names = ["my_ids", "token_type_ids", "attention_mask"]
    ours_cls = type("Renamed", (type(ours),), {"model_input_names": names})
    ref_cls = type("Renamed", (type(ref),), {"model_input_names": names})
    ours, ref = ours_cls(UNCASED_VOCAB), ref_cls(UNCASED_VOCAB, model_max_length=512)
    features = [{"my_ids": ids, "token_type_ids": [0] * len(ids)}
                for ids in (TWINS["fast"][0].encode(t) for t in TEXTS[:5])]
    for kwargs in [{}, {"padding": "max_length", "max_length": 64}, {"padding_side": "left"}]:
        assert as_lists(ours.pad([dict(f) for f in features], **kwargs)) == as_lists(
            ref.pad([dict(f) for f in features], **kwargs))
    assert as_lists(ours.pad(features[0], padding="max_length", max_length=40)) == as_lists(
        ref.pad(features[0], padding="max_length", max_length=40))
    with pytest.raises(ValueError, match="'my_ids'"):
        ours.pad([{"input_ids": [1, 2]}])
    assert ours("hello")["input_ids"] == TWINS[kind][0]("hello")["input_ids"]
