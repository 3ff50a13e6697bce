"""Property tests over the call options: any Unicode text or pair, any strategy, length, stride,
side, padding, window option and pre-split words; each bertedu tokenizer against its
transformers twin (fields, and for the fast one the alignment of every window).

Where the twin fails (the fast one raises a bare exception or panics in Rust, the slow one logs
an error and returns an example longer than ``max_length``), bertedu must raise ``ValueError``.
"""

import itertools

import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

from bertedu import BertTokenizer, BertTokenizerFast
from tests.tokenization.test_slow import UNCASED_VOCAB, as_lists

SIDES = ["right", "left"]
FAST = {
    (p, t): (BertTokenizerFast(UNCASED_VOCAB, padding_side=p, truncation_side=t),
             transformers.BertTokenizerFast(UNCASED_VOCAB, model_max_length=512, padding_side=p,
                                            truncation_side=t))
    for p, t in itertools.product(SIDES, SIDES)
}
SLOW = {
    (p, t): (BertTokenizer(UNCASED_VOCAB, padding_side=p, truncation_side=t),
             transformers.BertTokenizer(UNCASED_VOCAB, model_max_length=512, padding_side=p,
                                        truncation_side=t))
    for p, t in itertools.product(SIDES, SIDES)
}

OPTIONS = st.fixed_dictionaries({
    "truncation": st.sampled_from(["longest_first", "only_first", "only_second"]),
    "max_length": st.integers(6, 30),
    "stride": st.integers(0, 3),
    "padding": st.sampled_from([False, True, "max_length"]),
    "return_overflowing_tokens": st.booleans(),
    "return_special_tokens_mask": st.booleans(),
})
INPUTS = st.tuples(
    st.text(max_size=80),
    st.one_of(st.none(), st.text(max_size=40)),
    st.booleans(),  # pre-split words
    st.sampled_from(SIDES),
    st.sampled_from(SIDES),
)


def arguments(text, second, split):
    """Positional arguments and ``is_split_into_words`` (empty word lists stay plain text)."""
    if split and text.split() and (second is None or second.split()):
        return (text.split(),) + (() if second is None else (second.split(),)), True
    return (text,) + (() if second is None else (second,)), False


def twin_or_error(ours, ref, args, kwargs, slow: bool):
    try:
        expected = ref(*args, **kwargs)
    except BaseException as err:  # noqa: BLE001 (the Rust side also panics)
        if isinstance(err, KeyboardInterrupt):
            raise
        expected = None
    if expected is not None and slow:
        ids = expected["input_ids"]
        if len(ids) > kwargs["max_length"]:
            expected = None  # transformers logged an error and did not truncate
    if expected is None:
        try:
            ours(*args, **kwargs)
        except ValueError:
            return None
        raise AssertionError(f"transformers failed on {args!r} {kwargs!r} but bertedu did not")
    got = ours(*args, **kwargs)
    assert as_lists(got) == as_lists(expected)
    return got, expected


@settings(max_examples=150, deadline=None)
@given(inputs=INPUTS, options=OPTIONS)
def test_property_fast_options_agree_with_transformers_fast(inputs, options):
    text, second, split, padding_side, truncation_side = inputs
    args, split = arguments(text, second, split)
    ours, ref = FAST[padding_side, truncation_side]
    out = twin_or_error(ours, ref, args, dict(options, is_split_into_words=split,
                                              return_offsets_mapping=True), slow=False)
    if out is not None:
        got, expected = out
        rows = len(expected.encodings)
        for r in range(rows):
            assert got.word_ids(r) == expected.word_ids(r)
            assert got.sequence_ids(r) == expected.sequence_ids(r)


@settings(max_examples=150, deadline=None)
@given(inputs=INPUTS, options=OPTIONS)
def test_property_slow_options_agree_with_transformers_slow(inputs, options):
    text, second, split, padding_side, truncation_side = inputs
    args, split = arguments(text, second, split)
    ours, ref = SLOW[padding_side, truncation_side]
    twin_or_error(ours, ref, args, dict(options, is_split_into_words=split), slow=True)
